"""The project's structure the console stands on: templates found from the top-level folder,
and service refusals shown as pages."""

from __future__ import annotations

from pathlib import Path

import pytest

from survey import resource_dir
from survey.errors import Conflict, NotFound, ServiceError

ROOT = Path(__file__).resolve().parent.parent


def test_templates_live_in_the_top_level_folder() -> None:
    assert resource_dir("templates") == ROOT / "templates"
    assert (ROOT / "templates" / "respond" / "questionnaire.html").is_file()
    assert not (ROOT / "survey" / "templates").exists()


def test_landing_page_renders_from_the_moved_templates(client) -> None:  # noqa: ANN001
    page = client.get("/")
    assert page.status_code == 200
    assert "<html" in page.get_data(as_text=True)


@pytest.mark.parametrize(("error", "status"), [(ServiceError, 400), (NotFound, 404), (Conflict, 409)])
def test_a_service_refusal_in_a_request_is_a_page_with_its_status(app, client, error, status) -> None:  # noqa: ANN001
    def refuse():  # noqa: ANN202
        raise error("不能这样做：原因在此")

    app.add_url_rule("/_refuse", "refuse", refuse)
    page = client.get("/_refuse")
    assert page.status_code == status
    assert "不能这样做：原因在此" in page.get_data(as_text=True)
