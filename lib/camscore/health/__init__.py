"""Camera health: each frame's picture signals (signals), and each camera's faults found from its frames
(episodes). numpy and Pillow only: the per-frame core, the report and the service use it.
"""
