"""File formats: safetensors checkpoints."""
from .safetensors import load_safetensors, save_safetensors
from .png import load_png, save_png

__all__ = ["load_safetensors", "save_safetensors", "save_png", "load_png"]
