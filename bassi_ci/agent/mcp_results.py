"""MCP tools and their results in the Messages API's terms: a server's tool as a tool
definition, a tools/call result as tool_result content. Pure functions, no I/O."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import mcp_types

from bassi_ci.agent.tools import ToolResult, cut_output

# The Messages API's rule for a tool name; an MCP tool whose full name breaks it is not offered.
API_TOOL_NAME_RE = re.compile(r"\A[a-zA-Z0-9_-]{1,64}\Z")
# Image types the Messages API accepts in a tool_result.
API_IMAGE_TYPES = frozenset(("image/jpeg", "image/png", "image/gif", "image/webp"))


def tool_definition(full_name: str, tool: mcp_types.Tool) -> dict[str, Any]:
    """The tool as the Messages API takes it; the server's input schema passes through."""
    schema = dict(tool.input_schema) if isinstance(tool.input_schema, Mapping) else {}
    schema.setdefault("type", "object")
    description = tool.description or tool.title or f"The tool {tool.name} of an MCP server."
    return {"name": full_name, "description": description, "input_schema": schema}


def tool_result(result: mcp_types.CallToolResult, max_chars: int) -> ToolResult:
    """A tools/call result for the model, faithfully: text as text, images as image blocks,
    `isError` as is_error; what the Messages API cannot take is described in a text block."""
    # The output limit holds for the whole result, shared by its text blocks.
    texts = sum(1 for item in result.content if not isinstance(item, mcp_types.ImageContent))
    share = max(max_chars // max(texts, 1), 1000)
    blocks = [_block(item, share) for item in result.content]
    if not blocks and result.structured_content is not None:
        structured = json.dumps(result.structured_content, ensure_ascii=False)
        blocks.append({"type": "text", "text": cut_output(structured, max_chars)})
    if not blocks:
        blocks.append({"type": "text", "text": "(no output)"})
    summary = "\n".join(
        block["text"] if block["type"] == "text" else f"[image {block['source']['media_type']}]" for block in blocks
    )
    return ToolResult(summary, bool(result.is_error), tuple(blocks))


def _block(item: mcp_types.ContentBlock, max_chars: int) -> dict[str, Any]:
    if isinstance(item, mcp_types.TextContent):
        return {"type": "text", "text": cut_output(item.text, max_chars)}
    if isinstance(item, mcp_types.ImageContent):
        if item.mime_type in API_IMAGE_TYPES:
            return {"type": "image", "source": {"type": "base64", "media_type": item.mime_type, "data": item.data}}
        return {"type": "text", "text": f"[an image of type {item.mime_type}, which cannot be shown to the model]"}
    if isinstance(item, mcp_types.EmbeddedResource):
        resource = item.resource
        if isinstance(resource, mcp_types.TextResourceContents):
            return {"type": "text", "text": cut_output(resource.text, max_chars)}
        return {"type": "text", "text": f"[a binary resource {resource.uri} of type {resource.mime_type}]"}
    if isinstance(item, mcp_types.ResourceLink):
        return {"type": "text", "text": f"[resource link: {item.uri} ({item.name})]"}
    kind = getattr(item, "type", type(item).__name__)
    return {"type": "text", "text": f"[{kind} content, which cannot be passed to the model]"}
