"""Everything about a server process, each module named by the process it runs in.

- ``parent``: the driver side (the pytest process, or ``flask-matrix serve``): bind 127.0.0.1 on
  an OS-picked port, spawn the child on that socket, wait for its first answer, run the
  calibration the app announces, stop and reap the whole process group. Never imports a model
  library: the process driving the checks stays unpatched.
- ``child``: the server process (``python -m matrix.launch.child``): patch the runtime FIRST, then
  import Flask and the app, then serve in-process, or exec a program server (gunicorn, uvicorn,
  hypercorn's CLI) on the same socket.
- ``program_app``: imported by a program server's worker, after its worker class patched the
  runtime where it does; builds the app object the program serves.
- ``hygiene``: what keeps processes from outliving their driver: die-with-parent, the driver pid
  every process carries, stopping a process group and waiting until it is empty.
- ``servers``: the server registry, one row per server.

One channel per message: the parent hands the child its orders on the command line and the
listening socket as an inherited descriptor, the child hands an exec'd program its app in
``FLASK_MATRIX_LAUNCH``; every process carries ``FLASK_MATRIX_DRIVER`` (the driver's pid) so a
leftover can be found; the server answers only over HTTP on the socket; its output goes to a log.
"""
