from .hdf5 import Dataset, load_dataset, save_dataset
from .windows import Windows, make_windows

__all__ = ["Dataset", "load_dataset", "save_dataset", "Windows", "make_windows"]
