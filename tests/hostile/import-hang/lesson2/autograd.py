# APPEND
# Hostile case: an endless loop at the top level of the file (say, training on import).
# 恶意用例：文件顶层的死循环（例如导入时就开始训练）。
while True:
    pass
