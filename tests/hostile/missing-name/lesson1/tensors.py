# APPEND
# Hostile case: a contract name is missing. / 恶意用例：缺少约定的名字。
del multiply
