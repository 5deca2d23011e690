import torch
from hypothesis import settings

torch.set_num_threads(1)  # tiny tensors: threads only add synchronisation
settings.register_profile("gcnn", deadline=None, max_examples=40, derandomize=False)
settings.load_profile("gcnn")
