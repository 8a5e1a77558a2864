# APPEND
# Mutant for the pitfall `tensor-constructor-dtype`: the reference's ImageLabelDataset redefined with that one bug
# (the label returned as torch.Tensor([label]), a float32 tensor, where the contract says an int).
# 变异体（tensor-constructor-dtype）：用带这个错误的版本重新定义参考答案中的 ImageLabelDataset
# （标签以 torch.Tensor([label]) 返回，是 float32 张量，而约定要求 int）。


class ImageLabelDataset(Dataset):
    def __init__(self, img_dir, label_file, transform=None):
        self.img_dir = Path(img_dir)
        self.transform = transform
        self.samples = []
        with open(label_file, encoding="utf-8") as f:
            for line_number, line in enumerate(f, start=1):
                fields = line.split()
                if not fields:
                    continue
                if len(fields) != 2 or not fields[1].lstrip("-").isdigit():
                    raise ValueError(f"{label_file}, line {line_number}: expected 'image_name label', got {line!r}")
                self.samples.append((fields[0], int(fields[1])))

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, idx):
        name, label = self.samples[idx]
        path = self.img_dir / name
        if not path.is_file():
            raise FileNotFoundError(f"image {path} listed in the label file does not exist")
        image = Image.open(path).convert("RGB")
        if self.transform is not None:
            image = self.transform(image)
        return image, torch.Tensor([label])
