"""MCP results and tools in the Messages API's terms, for the content kinds the fixture server
does not produce (resources, audio, other image types, structured content only)."""

from __future__ import annotations

import mcp_types

from bassi_ci.agent.mcp_results import tool_definition, tool_result


def result(
    *content: object, is_error: bool = False, structured: dict[str, object] | None = None
) -> mcp_types.CallToolResult:
    return mcp_types.CallToolResult(content=list(content), is_error=is_error, structured_content=structured)


def test_each_content_kind_becomes_a_block_the_api_takes() -> None:
    converted = tool_result(
        result(
            mcp_types.TextContent(type="text", text="hello"),
            mcp_types.ImageContent(type="image", data="R0lGODlh", mime_type="image/gif"),
            mcp_types.ImageContent(type="image", data="PHN2Zz4=", mime_type="image/svg+xml"),
            mcp_types.EmbeddedResource(
                type="resource",
                resource=mcp_types.TextResourceContents(
                    uri="file:///notes.md", mime_type="text/markdown", text="# Notes"
                ),
            ),
            mcp_types.EmbeddedResource(
                type="resource",
                resource=mcp_types.BlobResourceContents(uri="file:///a.bin", mime_type="application/zip", blob="UEs="),
            ),
            mcp_types.ResourceLink(type="resource_link", uri="https://x/doc", name="doc"),
            mcp_types.AudioContent(type="audio", data="AAAA", mime_type="audio/wav"),
        ),
        max_chars=10_000,
    )
    assert converted.blocks == (
        {"type": "text", "text": "hello"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/gif", "data": "R0lGODlh"}},
        {"type": "text", "text": "[an image of type image/svg+xml, which cannot be shown to the model]"},
        {"type": "text", "text": "# Notes"},
        {"type": "text", "text": "[a binary resource file:///a.bin of type application/zip]"},
        {"type": "text", "text": "[resource link: https://x/doc (doc)]"},
        {"type": "text", "text": "[audio content, which cannot be passed to the model]"},
    )
    assert converted.output.splitlines()[:2] == ["hello", "[image image/gif]"]
    assert not converted.is_error


def test_structured_content_alone_is_passed_as_json_and_errors_stay_errors() -> None:
    converted = tool_result(result(structured={"total": 3}, is_error=True), max_chars=1000)
    assert converted.blocks == ({"type": "text", "text": '{"total": 3}'},)
    assert converted.is_error
    assert tool_result(result(), max_chars=1000).blocks == ({"type": "text", "text": "(no output)"},)


def test_long_text_is_cut_to_the_limit_shared_by_the_blocks() -> None:
    text = mcp_types.TextContent(type="text", text="x" * 50_000)
    converted = tool_result(result(text, text), max_chars=20_000)
    assert all(len(block["text"]) < 10_200 for block in converted.blocks)
    assert "characters cut" in converted.blocks[0]["text"]


def test_a_tool_definition_passes_the_input_schema_through() -> None:
    schema = {"type": "object", "properties": {"q": {"type": "string", "minLength": 1}}, "required": ["q"]}
    tool = mcp_types.Tool(name="search", description="Search the docs.", input_schema=schema)
    assert tool_definition("mcp__docs__search", tool) == {
        "name": "mcp__docs__search",
        "description": "Search the docs.",
        "input_schema": schema,
    }
    bare = mcp_types.Tool(name="ping", input_schema={"type": "object"})
    assert tool_definition("mcp__x__ping", bare)["description"] == "The tool ping of an MCP server."
