"""File formats: safetensors checkpoints."""
from .safetensors import load_safetensors, save_safetensors

__all__ = ["load_safetensors", "save_safetensors"]
