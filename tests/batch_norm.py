"""A helper the tests share: batch norm with non-trivial statistics and affine maps, so that eval-mode
checks (equivariance, invariance, export, compile) cover them too instead of an identity."""

import torch
from torch import nn


def randomise_batch_norm(model: nn.Module, seed: int = 1) -> nn.Module:
    """Fill every batch norm of ``model`` with random running statistics and affine parameters, in
    each module's own dtype; returns ``model``."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                n, dtype = module.num_features, module.running_mean.dtype
                module.running_mean.copy_(torch.randn(n, generator=generator, dtype=dtype) * 0.1)
                module.running_var.copy_(torch.rand(n, generator=generator, dtype=dtype) + 0.5)
                module.weight.copy_(torch.rand(n, generator=generator, dtype=dtype) + 0.5)
                module.bias.copy_(torch.randn(n, generator=generator, dtype=dtype) * 0.1)
    return model
