"""Models written the way a PyTorch user writes them (their own parameter names, nn.Sequential),
for scripts/prepare-model.py: an MLP and a CNN shaped like the zoo's, and an MLP with batch norm
between its layers."""
import torch
from torch import nn


def mlp(num_classes: int = 10) -> nn.Module:
    """784-512-512-classes; tap the second hidden layer as hidden.5 (its ReLU)."""
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 512), nn.ReLU(), nn.Dropout(0.2),
                         nn.Linear(512, 512), nn.ReLU(), nn.Dropout(0.2),
                         nn.Linear(512, num_classes))


def mlp_bn(num_classes: int = 10) -> nn.Module:
    """An MLP with BatchNorm1d after each hidden linear layer; tap block2 as 'act2'."""

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin1 = nn.Linear(784, 256)
            self.norm1 = nn.BatchNorm1d(256)
            self.act1 = nn.ReLU()
            self.lin2 = nn.Linear(256, 128)
            self.norm2 = nn.BatchNorm1d(128)
            self.act2 = nn.ReLU()
            self.head = nn.Linear(128, num_classes)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h = self.act1(self.norm1(self.lin1(x.flatten(1))))
            return self.head(self.act2(self.norm2(self.lin2(h))))

    return Net()


def cnn(num_classes: int = 10) -> nn.Module:
    """Two 3x3 conv blocks (16, 32 channels, batch norm, 2x2 max pooling), a 512-unit dense layer
    (tap: 10, its ReLU), the classifier."""
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 7 * 7, 512), nn.ReLU(), nn.Dropout(0.2),
        nn.Linear(512, num_classes))


def mlp_cat(num_classes: int = 10) -> nn.Module:
    """Two branches concatenated: the units of tap 'left' (its ReLU) are read through torch.cat,
    which the function-preserving transforms do not follow."""

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(784, 32)
            self.b = nn.Linear(784, 32)
            self.left = nn.ReLU()
            self.head = nn.Linear(64, num_classes)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = x.flatten(1)
            return self.head(torch.cat([self.left(self.a(x)), torch.relu(self.b(x))], 1))

    return Net()
