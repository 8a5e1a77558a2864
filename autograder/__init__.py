"""The hidden graders of the course and the grading engine (`python -m autograder`).

课程的隐藏评分测试与评分引擎。
"""
