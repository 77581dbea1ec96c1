+ PLATFORM:linux lifecast 0.1 .
PYTHONPATH+:=../panel
LIFECAST_WORKER_PYTHON:=../../.venv/bin/python

+ PLATFORM:mac lifecast 0.1 .
PYTHONPATH+:=../panel
LIFECAST_WORKER_PYTHON:=../../.venv/bin/python

+ PLATFORM:win64 lifecast 0.1 .
PYTHONPATH+:=..\panel
LIFECAST_WORKER_PYTHON:=..\..\.venv\Scripts\python.exe
