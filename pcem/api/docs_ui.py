"""The interactive docs at ``/schema``, with every asset served by PCEM itself.

Swagger UI's files come from the ``swagger-ui-bundle-v2`` package and are served
under ``/schema/assets/``, a public route like the rest of ``/schema``: the page
works on a machine without internet and sends no visitor to a third party.
"""

from __future__ import annotations

from litestar.datastructures import CacheControlHeader
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.router import Router
from litestar.static_files import create_static_files_router
from swagger_ui_bundle import swagger_ui_path

ASSETS_PATH = "/schema/assets"
_A_DAY = 24 * 60 * 60  # the files change only with the package's version


def docs_page() -> SwaggerRenderPlugin:
    """Swagger UI (5.x reads OpenAPI 3.1) at ``/schema``, loading only PCEM's files."""
    return SwaggerRenderPlugin(
        js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
        css_url=f"{ASSETS_PATH}/swagger-ui.css",
        standalone_preset_js_url=f"{ASSETS_PATH}/swagger-ui-standalone-preset.js",
        favicon=f'<link rel="icon" type="image/png" href="{ASSETS_PATH}/favicon-32x32.png">',
    )


def docs_assets() -> Router:
    return create_static_files_router(
        path=ASSETS_PATH,
        directories=[str(swagger_ui_path)],
        name="docs-assets",
        cache_control=CacheControlHeader(max_age=_A_DAY, public=True),
    )
