"""What `course` remembers about an exercises folder: hint levels shown, last test results.

`course` 为一个练习文件夹记住的内容：已显示的提示级别、最近一次的测试结果。

Kept in `<exercises>/.course-progress.json` (ignored by git). A damaged file is
treated as empty: it only holds conveniences, never the student's work.
保存在 `<exercises>/.course-progress.json`（git 会忽略它）。文件损坏时按空文件处理：
其中只有辅助信息，从不保存学生的作业。
"""
import json
import os
from pathlib import Path

FILE_NAME = ".course-progress.json"
FORMAT = 1


class Progress:
    """The progress file of one exercises folder."""

    def __init__(self, exercises: Path):
        self.path = Path(exercises) / FILE_NAME
        self.data = self._load()

    def _load(self) -> dict:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {"format": FORMAT}
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            return {"format": FORMAT}
        return data

    def save(self) -> None:
        """Write the file atomically; a read-only folder only loses the convenience."""
        tmp = self.path.with_name(self.path.name + ".tmp")
        try:
            tmp.write_text(json.dumps(self.data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError:
            pass

    def hint_level(self, lesson: int, name: str) -> int:
        """How many hint levels of `name` were shown already."""
        value = self.data.get("hints", {}).get(f"lesson{lesson}/{name}", 0)
        return value if isinstance(value, int) and value >= 0 else 0

    def set_hint_level(self, lesson: int, name: str, level: int) -> None:
        self.data.setdefault("hints", {})[f"lesson{lesson}/{name}"] = level

    def results(self, lesson: int, fingerprint: str):
        """The test records saved for this lesson when its files had `fingerprint`, else None."""
        saved = self.data.get("results", {}).get(f"lesson{lesson}")
        if isinstance(saved, dict) and saved.get("fingerprint") == fingerprint and isinstance(saved.get("records"), list):
            return saved["records"]
        return None

    def set_results(self, lesson: int, fingerprint: str, records: list) -> None:
        self.data.setdefault("results", {})[f"lesson{lesson}"] = {"fingerprint": fingerprint, "records": records}
