"""Transition diagrams drawn from a flow definition (`partnerbot flows graph`)."""

from __future__ import annotations

from bot.domain.flows import AskNode, Condition, EndNode, Flow, SayNode


def mermaid(flow: Flow) -> str:
    """A Mermaid flowchart of the flow, labelled with node ids and kinds."""
    lines = ["flowchart TD"]
    for node in flow.nodes.values():
        if isinstance(node, AskNode):
            label = f"{node.id}<br/>ask {node.ask}"
            lines.append(f'    {node.id}[/"{label}"/]')
        elif isinstance(node, SayNode):
            lines.append(f'    {node.id}["{node.id}<br/>say"]')
        else:
            extra = f"<br/>then {node.start_flow}" if node.start_flow else ""
            lines.append(f'    {node.id}(["{node.id}<br/>end{extra}"])')
    for node in flow.nodes.values():
        if isinstance(node, EndNode):
            continue
        if isinstance(node.next, str):
            lines.append(f"    {node.id} --> {node.next}")
            continue
        for branch in node.next:
            if branch.when is None:
                lines.append(f"    {node.id} --> {branch.goto}")
            else:
                lines.append(f'    {node.id} -- "{describe(branch.when)}" --> {branch.goto}')
    return "\n".join(lines)


def describe(condition: Condition) -> str:
    """A short human reading of a condition, for diagrams."""
    subject = condition.answer or "answer"
    parts = []
    for name, op in (("equals", "="), ("lt", "<"), ("lte", "≤"), ("gt", ">"), ("gte", "≥")):
        value = getattr(condition, name)
        if value is not None:
            parts.append(f"{subject} {op} {value}")
    if condition.in_ is not None:
        parts.append(f"{subject} in {list(condition.in_)}")
    if condition.contains is not None:
        parts.append(f"{subject} has {condition.contains}")
    if condition.skipped is not None:
        parts.append(f"{subject} {'skipped' if condition.skipped else 'given'}")
    return " and ".join(parts)
