# APPEND
# A length bomb: the reference's ImageLabelDataset, except that len() claims 30 million items (every index still
# answers). A grader that sizes its own work by that number builds and sends 30 million indices.
# 长度炸弹：参考答案的 ImageLabelDataset，只是 len() 声称有三千万项（每个下标都能取到样本）。
_Honest = ImageLabelDataset


class ImageLabelDataset(_Honest):
    def __len__(self):
        return 30_000_000

    def __getitem__(self, idx):
        return super().__getitem__(idx % len(self.samples))
