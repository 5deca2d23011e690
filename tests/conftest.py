import pytest
import torch
from hypothesis import settings

torch.set_num_threads(1)  # tiny tensors: threads only add synchronisation
settings.register_profile("gcnn", deadline=None, max_examples=40, derandomize=False)
settings.load_profile("gcnn")


@pytest.fixture
def one_thread():
    """Torch on one thread for the test, as the training tests need for machine-independent numbers."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
