# APPEND
# Hostile case: top-level code that raises on import. / 恶意用例：导入时抛出异常的顶层代码。
raise RuntimeError("boom while importing")
