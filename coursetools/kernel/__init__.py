"""The notebook kernel side: check cells, importing earlier lessons' notebooks, pictures' helpers.

笔记本内核一侧：检查单元格、从前几课的笔记本导入、图片辅助函数。

Runs in the student's Jupyter kernel. May import the shared base, the checks and the boundary; never
authoring or the student command.
"""
