# APPEND
# Mutant for the pitfall `tensor-constructor-dtype`: the reference's vector_from_list redefined with that one bug.
# 变异体（tensor-constructor-dtype）：用带这个错误的版本重新定义参考答案中的 vector_from_list。


def vector_from_list(values: list) -> torch.Tensor:
    return torch.Tensor(values)
