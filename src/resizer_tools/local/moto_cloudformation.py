"""moto's CloudFormation taught to execute the template's change sets itself.

The AWS CLI path (scripts/aws_cli_deploy.sh, `make rehearse`) and the local deploy
(:func:`resizer_tools.local.deploy.deploy`) both go through it; the gaps the local
deploy works around with other APIs are :mod:`resizer_tools.local.moto_gaps`'s.
Installed by :func:`install_stack_gaps` when the embedded emulator starts. Gaps
(moto 5.2), and what is done about each:

- A resource that fails while a change set executes raises straight out of
  ExecuteChangeSet, so the emulator answers with *that service's* error (Lambda's
  JSON, e.g. ``{"__type": "InvalidParameterValueException", ...}``) where the AWS
  CLI expects CloudFormation's XML: "Unable to parse response ... invalid XML
  received". On AWS, ExecuteChangeSet succeeds and the stack then fails with the
  reason in its events. -> The failure is recorded the AWS way: the stack ends
  ROLLBACK_COMPLETE (a create) or UPDATE_ROLLBACK_COMPLETE (an update), its events
  say which resource failed and why, and the CLI's waiter reports it.
- No AWS::Lambda::Alias or AWS::SQS::QueuePolicy: the alias is skipped and the event
  source mapping on it fails ("Missing FunctionName", the error above). -> Both are
  registered (:mod:`resizer_tools.local.moto_resources`); so is the bootstrap's
  AWS::IAM::OIDCProvider, which moto skips (no ``OidcProviderArn`` output), and an
  AWS::Lambda::Version that can be replaced (below).
- ``!Ref AWS::NoValue`` as a list item stays in the list as a null (a role's
  ``Policies`` with an ``!If [..., AWS::NoValue]`` item: "'NoneType' object is not
  subscriptable"). -> Such items are dropped, as CloudFormation does.
- A CREATE change set on a stack left REVIEW_IN_PROGRESS (a reviewed change set
  never executed) makes a second stack of that name. -> It goes to the existing
  stack, as on AWS (:func:`_creating_on_review`).
- A stack created or updated by a change set keeps the outputs it had before (none
  for a new stack). -> They are evaluated again once the change set executed.
- An AWS::Lambda::Version cannot be updated, and nothing that refers to a replaced
  resource is updated: a Renditions change would update the function but neither
  publish a version nor move ``live``. -> A Version whose properties change is
  replaced (a new version is published; the old one is kept, UpdateReplacePolicy
  Retain), and every resource that refers to a resource whose physical id changed
  is updated too, in template order, as CloudFormation does
  (:func:`_update_following_replacements`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from resizer_tools.local.moto_resources import RESOURCE_TYPES

__all__ = ["install_stack_gaps"]


def install_stack_gaps() -> None:
    """Teach moto's CloudFormation what the template's change sets need (idempotent)."""
    from moto.cloudformation import models as cfn_models  # noqa: PLC0415 (local stack only)
    from moto.cloudformation import parsing  # noqa: PLC0415

    if getattr(parsing.ResourceMap, "_resizer_gaps", False):
        return
    # lru_cached: this dict is the registry moto reads.
    model_map: dict[str, Any] = parsing.get_model_map()
    for model in RESOURCE_TYPES:
        model_map[model.cloudformation_type()] = model
    resource_map, backend = parsing.ResourceMap, cfn_models.CloudFormationBackend
    setattr(resource_map, "update", _update_following_replacements(resource_map.update))  # noqa: B010
    setattr(parsing, "clean_json", _dropping_no_value(parsing.clean_json))  # noqa: B010
    setattr(backend, "execute_change_set", _failing_like_aws(backend.execute_change_set))  # noqa: B010
    setattr(backend, "create_change_set", _creating_on_review(backend.create_change_set))  # noqa: B010
    parsing.ResourceMap._resizer_gaps = True  # type: ignore[attr-defined]


def _update_following_replacements(update: Callable[..., None]) -> Callable[..., None]:
    from moto.cloudformation.parsing import parse_and_update_resource  # noqa: PLC0415

    from resizer_tools.local.template import references  # noqa: PLC0415

    def physical_ids(resource_map: Any) -> dict[str, str]:
        return {
            name: str(resource.physical_resource_id)
            for name, resource in resource_map._parsed_resources.items()
            if hasattr(resource, "physical_resource_id")
        }

    def patched(self: Any, template: dict[str, Any], parameters: Any = None) -> None:
        before = physical_ids(self)
        old_parameters = dict(self.input_parameters or {})
        done_by_moto = set(self.build_resource_diff(template, parameters)["Modify"])
        update(self, template, parameters)
        # moto sees a parameter only in a plain Ref (not in Fn::Sub), and updates nothing
        # that refers to a replaced resource: both are done here, in template order.
        stale = {k for k, v in (parameters or {}).items() if old_parameters.get(k) != v}
        after = physical_ids(self)
        stale |= {name for name, value in after.items() if before.get(name, value) != value}
        for name, resource_json in template["Resources"].items():
            if name in done_by_moto or name not in after:
                continue
            if not references(resource_json.get("Properties")) & stale:
                continue
            condition = resource_json.get("Condition")
            if condition and not self.lazy_condition_map[condition]:
                continue
            changed: Any = parse_and_update_resource(
                name, resource_json, self, self._account_id, self._region_name
            )
            if changed is not None:
                self._parsed_resources[name] = changed
                if getattr(changed, "physical_resource_id", after[name]) != after[name]:
                    stale.add(name)

    return patched


def _dropping_no_value(clean_json: Callable[..., Any]) -> Callable[..., Any]:
    def patched(resource_json: Any, resources_map: Any) -> Any:
        if isinstance(resource_json, list):
            items = [(item, clean_json(item, resources_map)) for item in resource_json]
            # An intrinsic (Ref, Fn::If) that resolved to nothing: AWS::NoValue.
            return [
                value for item, value in items if value is not None or not isinstance(item, dict)
            ]
        return clean_json(resource_json, resources_map)

    return patched


def _creating_on_review(create: Callable[..., tuple[str, str]]) -> Callable[..., tuple[str, str]]:
    def patched(self: Any, **kwargs: Any) -> tuple[str, str]:
        waiting = [
            stack
            for stack in self.stacks.values()
            if stack.name == kwargs["stack_name"] and stack.status == "REVIEW_IN_PROGRESS"
        ]
        change_set_id, stack_id = create(self, **kwargs)
        if kwargs.get("change_set_type") != "CREATE" or not waiting:
            return change_set_id, stack_id
        (stack,) = waiting
        del self.stacks[stack_id]  # the duplicate moto just made
        change_set = self.change_sets[change_set_id]
        change_set.stack, change_set.stack_id = stack, stack.stack_id
        return change_set_id, stack.stack_id

    return patched


def _failing_like_aws(execute: Callable[..., None]) -> Callable[..., None]:
    def patched(self: Any, change_set_name: str, stack_name: str | None = None) -> None:
        try:
            execute(self, change_set_name, stack_name)
        except Exception as error:
            change_set = self.change_sets.get(change_set_name) or next(
                (c for c in self.change_sets.values() if c.change_set_name == change_set_name),
                None,
            )
            if change_set is None:
                raise
            stack = self.stacks[change_set.stack_id]
            reason = f"{type(error).__name__}: {error}"
            create = change_set.change_set_type == "CREATE"
            stack._add_stack_event(
                "CREATE_FAILED" if create else "UPDATE_FAILED", resource_status_reason=reason
            )
            stack.status = "ROLLBACK_COMPLETE" if create else "UPDATE_ROLLBACK_COMPLETE"
            stack._add_stack_event(stack.status, resource_status_reason=reason)
            change_set.execution_status = "EXECUTE_FAILED"
            change_set.status_reason = reason
        else:
            for stack in self.stacks.values():
                if stack_name in (stack.name, stack.stack_id) or any(
                    c.stack_id == stack.stack_id
                    for c in self.change_sets.values()
                    if change_set_name in (c.change_set_name, c.change_set_id)
                ):
                    stack._parse_template()  # the change set's template, now the stack's
                    stack.output_map = stack._create_output_map()

    return patched
