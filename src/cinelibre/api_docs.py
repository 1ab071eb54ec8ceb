"""The interactive API documentation, /docs (Swagger UI) and /redoc (ReDoc), with every script,
style and icon served by CineLibre itself under /docs/assets, so both pages work on a machine
without Internet access. The files come from the fastapi-offline package, which ships the
released Swagger UI and ReDoc bundles."""

import mimetypes
from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from starlette.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

SWAGGER_UI_PATH = "/docs"
SWAGGER_UI_OAUTH2_REDIRECT_PATH = "/docs/oauth2-redirect"
REDOC_PATH = "/redoc"
ASSETS_PATH = "/docs/assets"
ASSETS_DIRECTORY = Path(str(files("fastapi_offline") / "static"))
SWAGGER_UI_PARAMETERS = {
    # Swagger UI would otherwise send the schema to validator.swagger.io and show its badge.
    "validatorUrl": None,
}


def install_api_docs(app: FastAPI, *, openapi_path: str) -> None:
    """Serve /docs, its OAuth2 redirect page, /redoc and their assets for the schema at
    `openapi_path`."""
    # The files' types come from the machine's MIME table, and under `nosniff` a browser runs no
    # script served as anything but a JavaScript type: say which one, whatever the table holds.
    mimetypes.add_type("text/javascript", ".js")
    app.mount(ASSETS_PATH, StaticFiles(directory=ASSETS_DIRECTORY), name="api-docs-assets")

    async def swagger_ui(request: Request) -> HTMLResponse:
        root = _root_path(request)
        return get_swagger_ui_html(
            openapi_url=root + openapi_path,
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{root}{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_PATH}/favicon.png",
            oauth2_redirect_url=root + SWAGGER_UI_OAUTH2_REDIRECT_PATH,
            swagger_ui_parameters=SWAGGER_UI_PARAMETERS,
        )

    async def swagger_ui_oauth2_redirect(request: Request) -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    async def redoc(request: Request) -> HTMLResponse:
        root = _root_path(request)
        return get_redoc_html(
            openapi_url=root + openapi_path,
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{ASSETS_PATH}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{ASSETS_PATH}/favicon.png",
            with_google_fonts=False,
        )

    app.add_route(SWAGGER_UI_PATH, swagger_ui, include_in_schema=False)
    app.add_route(SWAGGER_UI_OAUTH2_REDIRECT_PATH, swagger_ui_oauth2_redirect, include_in_schema=False)
    app.add_route(REDOC_PATH, redoc, include_in_schema=False)


def _root_path(request: Request) -> str:
    # Behind a proxy that serves CineLibre under a prefix, every URL on the pages carries it.
    return str(request.scope.get("root_path", "")).rstrip("/")
