"""Studies that answer one question with measurements, built from the stages below:

``quant_report`` (where int8 loses, layer by layer), ``relu6`` (the same weights with ReLU6 and plain
ReLU) and ``keep_float`` (float, int8 and int8 with some layers kept float, side by side).
"""
