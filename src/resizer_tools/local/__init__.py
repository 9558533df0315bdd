"""The whole pipeline on one machine: embedded AWS, the same template, the same handler.

- :mod:`~resizer_tools.local.emulator`: moto's server, in-process, on 127.0.0.1;
- :mod:`~resizer_tools.local.deploy`: ``infra/template.yaml`` deployed into it (read by
  :mod:`~resizer_tools.local.template`), plus what it skips
  (:mod:`~resizer_tools.local.moto_gaps`: what moto's CloudFormation cannot do;
  :mod:`~resizer_tools.local.moto_cloudformation`: what it is taught to do, with
  :mod:`~resizer_tools.local.moto_resources`: the resource types it lacks);
- :mod:`~resizer_tools.local.parameters`: ``--parameter KEY=VALUE`` overrides, checked;
- :mod:`~resizer_tools.local.poller`: the Lambda event source mapping, played faithfully
  (:mod:`~resizer_tools.local.mapping`: the mapping and the version its alias points to;
  :mod:`~resizer_tools.local.runtime`: the function's container, its environment and handler;
  :mod:`~resizer_tools.local.lambda_event`: the event records and context;
  :mod:`~resizer_tools.local.gate`: a new version waits for the invocations running;
  :mod:`~resizer_tools.local.function_logs`: the function's log lines, shipped to the emulator);
- :mod:`~resizer_tools.local.stack`: the three together (``resizer local up``;
  :mod:`~resizer_tools.local.settings`: ``resizer local set``, its settings changed);
- :mod:`~resizer_tools.local.demo` and :mod:`~resizer_tools.local.gallery`: ``resizer demo``.
"""
