"""Test and benchmark harness (not installed, not shipped): a throwaway nbgrader course for tests/ and benchmarks/.

测试与基准的辅助代码（不安装、不发布）。
"""
