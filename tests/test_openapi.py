"""/docs is a product surface: every operation and parameter is described, with examples."""

from app.main import create_app
from app.settings import Settings


def spec() -> dict:
    return create_app(Settings(database_url="sqlite://")).openapi()


def operations():
    for path, methods in spec()["paths"].items():
        for method, operation in methods.items():
            yield path, method, operation


def test_every_operation_has_summary_description_and_tag():
    for path, method, operation in operations():
        assert operation.get("summary"), (path, method)
        assert operation.get("description"), (path, method)
        assert operation.get("tags"), (path, method)


def test_every_parameter_has_a_description_and_an_example():
    missing = []
    for path, _, operation in operations():
        for parameter in operation.get("parameters", []):
            has_example = "example" in parameter or "examples" in parameter or "examples" in parameter.get("schema", {})
            if not parameter.get("description") or not has_example:
                missing.append(f"{path} {parameter['name']}")
    assert missing == []


def test_list_and_detail_endpoints_document_their_problem_responses():
    for path, _, operation in operations():
        if path.startswith("/v1/") and "{" in path:
            assert "404" in operation["responses"], path
            assert "application/problem+json" in operation["responses"]["404"]["content"], path
        if any(p["in"] == "query" for p in operation.get("parameters", [])):
            assert "400" in operation["responses"], path
            assert "application/problem+json" in operation["responses"]["400"]["content"], path
