"""The whole pipeline on one machine: embedded AWS, the same template, the same handler.

- :mod:`~resizer.local.emulator`: moto's server, in-process, on 127.0.0.1;
- :mod:`~resizer.local.deploy`: ``infra/template.yaml`` deployed into it, plus what it skips;
- :mod:`~resizer.local.poller`: the Lambda event source mapping, played faithfully;
- :mod:`~resizer.local.stack`: the three together (``resizer local up``);
- :mod:`~resizer.local.demo` and :mod:`~resizer.local.gallery`: ``resizer demo``.
"""
