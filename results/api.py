"""The journalists' API at /api/v1/: the JSON and CSV twin of every public page, the bulk downloads, search.

django-ninja rather than DRF with drf-spectacular: the API is read-only and
made of a few typed documents, and ninja describes them in OpenAPI from the
same pydantic schemas (results/schemas.py) that produce the JSON, so the
description and the answers cannot drift apart; it needs no serializer
layer beside the selectors and ships Swagger UI's files itself (nothing
loaded from another host). The answers come from the same page cache as
the pages, under the same data versions.
"""

from django.http import Http404, HttpResponse
from ninja import NinjaAPI, Query, Schema

from . import codes, downloads, pages, schemas, selectors, views

api = NinjaAPI(
    title="KPU results portal API",
    version="1",
    description=(
        "Read-only results from the scanned C1 forms: every published (double-entered) reading, "
        "the totals of every region, the revision history with its digests. No key, no login."
    ),
    urls_namespace="api-1",
)

_CSV = {200: {"content": {"text/csv": {"schema": {"type": "string"}}}}}


def _region_code(code):
    if views.station_code(code):
        raise Http404("a TPS code: see /tps/")
    return views._code(codes.normalize_region_code, code)


@api.get("/contests.json", response=list[schemas.ContestSummary], url_name="contests", summary="Every contest")
def contests(request):
    return HttpResponse(pages.contests_document(), content_type="application/json")


@api.get(
    "/{election}/{contest}.json",
    response={200: schemas.RegionResults, 404: schemas.Message},
    url_name="area_json",
    summary="A contest's area",
)
def area_json(request, election: str, contest: str):
    return views.region_response(request, election=election, contest=contest, code="", kind="json")


@api.get(
    "/{election}/{contest}.csv",
    url_name="area_csv",
    summary="A contest's area, CSV",
    response={404: schemas.Message},
    openapi_extra={"responses": _CSV},
)
def area_csv(request, election: str, contest: str):
    return views.region_response(request, election=election, contest=contest, code="", kind="csv")


@api.get(
    "/{election}/{contest}/tps.csv",
    url_name="stations_csv",
    summary="Every TPS of a contest, CSV (streamed)",
    response={404: schemas.Message},
    openapi_extra={"responses": _CSV},
)
def stations_csv(request, election: str, contest: str):
    return downloads.contest_stations_response(
        selectors.contest_get(election_slug=election, contest_slug=contest), "csv"
    )


@api.get(
    "/{election}/{contest}/tps.jsonl",
    url_name="stations_jsonl",
    summary="Every TPS of a contest, JSON lines (streamed)",
    response={404: schemas.Message},
    openapi_extra={"responses": {200: {"content": {"application/x-ndjson": {"schema": {"type": "string"}}}}}},
)
def stations_jsonl(request, election: str, contest: str):
    return downloads.contest_stations_response(
        selectors.contest_get(election_slug=election, contest_slug=contest), "jsonl"
    )


@api.get(
    "/{election}/{contest}/tps/{code}.json",
    response={200: schemas.StationResults, 404: schemas.Message},
    url_name="station_json",
    summary="One TPS",
)
def station_json(request, election: str, contest: str, code: str):
    return views.station_response(request, election=election, contest=contest, code=_station(code), kind="json")


@api.get(
    "/{election}/{contest}/tps/{code}.csv",
    url_name="station_csv",
    summary="One TPS's readings, CSV",
    response={404: schemas.Message},
    openapi_extra={"responses": _CSV},
)
def station_csv(request, election: str, contest: str, code: str):
    return views.station_response(request, election=election, contest=contest, code=_station(code), kind="csv")


@api.get(
    "/{election}/{contest}/{code}.json",
    response={200: schemas.RegionResults, 404: schemas.Message},
    url_name="region_json",
    summary="One region",
)
def region_json(request, election: str, contest: str, code: str):
    return views.region_response(request, election=election, contest=contest, code=_region_code(code), kind="json")


@api.get(
    "/{election}/{contest}/{code}.csv",
    url_name="region_csv",
    summary="One region, CSV",
    response={404: schemas.Message},
    openapi_extra={"responses": _CSV},
)
def region_csv(request, election: str, contest: str, code: str):
    return views.region_response(request, election=election, contest=contest, code=_region_code(code), kind="csv")


class SearchQuery(Schema):
    q: str


@api.get(
    "/search.json",
    response={200: list[schemas.SearchHit], 422: schemas.Message},
    url_name="search",
    summary="Regions and TPS by name or code",
)
def search(request, query: Query[SearchQuery]):
    return [
        {"kind": kind, "code": code, "name": name, "pages": [url for _contest, url in found]}
        for kind, code, name, found in views.search_hits(query.q[:100])
    ]


def _station(code):
    dotted = views.station_code(code)
    if dotted is None:
        raise Http404("not a TPS code")
    return dotted
