"""The grading parent (trusted): command line, scheduling of lesson processes, results and reports.

It never imports student code and never talks to a student process; it reads verdicts from the
lesson processes (autograder/lesson/) and alone writes results.json, gradebook.csv and the table.

评分父进程（可信）：命令行、调度单课进程、结果与报告；从不导入学生代码。
"""
