"""The knowledge-server checks both Python programs run, on results the SDK has already
parsed and validated, dumped back to their wire shape (camelCase dicts) so that mcp 1.x and
2.x results are checked by the same code.

`api` is any object with these coroutines (each returning a dict): list_tools(),
call_tool(name, arguments), list_resources(), read_resource(uri), list_prompts(),
get_prompt(name, arguments), complete_template(argument_name, value).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from _harness import Harness, expect

CHECKS = (
    "tools/list",
    'tools/call get_stdlib {language:"rust", domain:"testing"}',
    'tools/call search_stdlib {query:"sql injection", domain:"security"}',
    "resources/list",
    "resources/read stdlib://rust/testing",
    "prompts/list",
    'prompts/get standards_brief {language:"rust"}',
    'completion/complete stdlib://{language}/{domain} language "ru"',
    "8 requests in flight at once on the one socket, answers matched by id",
)


def text_of(result: dict[str, Any]) -> str:
    return "\n".join(c.get("text", "") for c in result.get("content", []) if c.get("type") == "text")


async def run_knowledge_checks(h: Harness, api: Any) -> None:
    async def tools_list() -> str:
        r = await api.list_tools()
        names = sorted(t["name"] for t in r["tools"])
        for n in ("get_stdlib", "list_stdlib", "search_stdlib"):
            expect(n in names, f"no {n} in {names}")
        get = next(t for t in r["tools"] if t["name"] == "get_stdlib")
        props = get["inputSchema"].get("properties", {})
        expect("language" in props and "domain" in props, f"get_stdlib inputSchema {get['inputSchema']}")
        expect(get.get("outputSchema"), "get_stdlib has no outputSchema")
        return ", ".join(names)

    async def get_stdlib() -> str:
        r = await api.call_tool("get_stdlib", {"language": "rust", "domain": "testing"})
        expect(not r.get("isError"), f"isError: {text_of(r)[:300]!r}")
        s = r.get("structuredContent") or {}
        expect(s.get("found") is True, f"found {s.get('found')!r}")
        uris = [d["uri"] for d in s.get("documents", [])]
        expect(uris == ["stdlib://all/testing", "stdlib://rust/testing"], f"documents {uris}")
        text = text_of(r)
        for needle in ("# Testing standards", "# Rust testing", "cargo-nextest", "proptest"):
            expect(needle in text and needle in s.get("content", ""), f"the standard lacks {needle!r}")
        expect(text.index("# Testing standards") < text.index("# Rust testing"), "the base standard does not come first")
        return f"{' + '.join(uris)}, {len(text)} chars"

    async def search_stdlib() -> str:
        r = await api.call_tool("search_stdlib", {"query": "sql injection", "domain": "security"})
        expect(not r.get("isError"), f"isError: {text_of(r)[:300]!r}")
        hits = (r.get("structuredContent") or {}).get("results", [])
        expect(hits, "no hits")
        expect(all(x["domain"] == "security" for x in hits), f"a hit outside security: {[x['uri'] for x in hits]}")
        scores = [x["score"] for x in hits]
        expect(scores == sorted(scores, reverse=True), f"not ordered by score: {scores}")
        expect("inject" in json.dumps(hits).lower(), "no hit mentions injection")
        expect(hits[0]["uri"] in text_of(r), f"the text block does not name {hits[0]['uri']}")
        return f"{len(hits)} hits, first {hits[0]['uri']} ({hits[0].get('section')})"

    async def resources_list() -> str:
        r = await api.list_resources()
        uris = [x["uri"] for x in r["resources"]]
        for u in ("stdlib://rust/testing", "stdlib://all/testing", "stdlib://python/security"):
            expect(u in uris, f"no {u} among {len(uris)} resources")
        return f"{len(uris)} resources"

    async def resources_read() -> str:
        r = await api.read_resource("stdlib://rust/testing")
        c = r["contents"][0]
        expect(c["uri"] == "stdlib://rust/testing", f"contents[0].uri {c['uri']}")
        for needle in ("# Rust testing", "Test invariants with proptest"):
            expect(needle in c.get("text", ""), f"the document lacks {needle!r}")
        return f"{c.get('mimeType')}, {len(c['text'])} chars"

    async def prompts_list() -> str:
        r = await api.list_prompts()
        names = sorted(p["name"] for p in r["prompts"])
        for n in ("review_against_standards", "standards_brief"):
            expect(n in names, f"prompts {names}")
        return ", ".join(names)

    async def prompts_get() -> str:
        r = await api.get_prompt("standards_brief", {"language": "rust"})
        expect(r.get("messages"), "no messages")
        text = json.dumps(r["messages"])
        expect("stdlib://rust/testing" in text, "the brief does not name stdlib://rust/testing")
        return f"{len(r['messages'])} message(s), {len(text)} chars"

    async def complete() -> str:
        r = await api.complete_template("language", "ru")
        values = r["completion"]["values"]
        expect("rust" in values, f"values {values}")
        return json.dumps(values)

    async def in_flight() -> str:
        langs = ("rust", "python", "go", "typescript")

        async def tool(lang: str) -> None:
            r = await api.call_tool("get_stdlib", {"language": lang, "domain": "security"})
            uris = [d["uri"] for d in (r.get("structuredContent") or {}).get("documents", [])]
            expect(f"stdlib://{lang}/security" in uris, f"get_stdlib {lang} security answered with {uris}")

        async def read(lang: str) -> None:
            r = await api.read_resource(f"stdlib://{lang}/testing")
            got = r["contents"][0]["uri"]
            expect(got == f"stdlib://{lang}/testing", f"read stdlib://{lang}/testing answered with {got}")

        await asyncio.gather(*(f(lang) for lang in langs for f in (tool, read)))
        return f"{2 * len(langs)} answers, each for its own request"

    for name, fn in zip(
        CHECKS,
        (tools_list, get_stdlib, search_stdlib, resources_list, resources_read, prompts_list, prompts_get, complete, in_flight),
    ):
        await h.check(name, fn)
