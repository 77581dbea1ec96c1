"""Texture models: geometry-aware delighting and chart-aware inpainting in UV space, the training data generator,
the base weights and their model card.

Nothing here downloads anything: the weights ship beside this file and were trained by ``lifecast ml train-base``.
"""
