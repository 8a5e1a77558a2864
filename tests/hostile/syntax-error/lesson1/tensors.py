# APPEND
# Hostile case: a syntax error anywhere in the file. / 恶意用例：文件中有语法错误。
def broken(:
    pass
