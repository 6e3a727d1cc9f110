"""Camera health: each frame's picture signals (signals), and each camera's faults found from its rows
(episodes). numpy, Pillow and pandas only: the per-frame core, the report and the service use it.
"""
