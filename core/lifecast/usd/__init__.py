"""USD asset export in the ASWF USD-WG component layout, and its validation.

:func:`export_asset` writes ``asset.usda`` (the interface), ``payload.usda``,
``geo.usdc`` and ``mtl.usdc``; :func:`validate_asset` checks the result with
``pxr.UsdValidation`` and lifecast's own structural rules.
"""

from lifecast.usd.asset import AssetFiles, export_asset
from lifecast.usd.geometry import PolygonFaces
from lifecast.usd.validate import ValidationReport, validate_asset, validate_asset_report

__all__ = ["AssetFiles", "PolygonFaces", "ValidationReport", "export_asset", "validate_asset", "validate_asset_report"]
