"""Readable descriptions of common OBD-II diagnostic trouble codes (generic SAE J2012 meanings).

``describe`` knows ~45 frequent codes by heart, names any misfire cylinder (P0301-P0312),
and otherwise says what family the code belongs to, so every alert has a sentence.
"""

from __future__ import annotations

COMMON: dict[str, str] = {
    "P0011": "Camshaft position timing over-advanced (bank 1)",
    "P0101": "Mass air flow sensor range/performance",
    "P0102": "Mass air flow sensor circuit low",
    "P0113": "Intake air temperature sensor circuit high",
    "P0117": "Engine coolant temperature sensor circuit low",
    "P0118": "Engine coolant temperature sensor circuit high",
    "P0125": "Insufficient coolant temperature for closed loop fuel control",
    "P0128": "Coolant thermostat below regulating temperature",
    "P0131": "O2 sensor circuit low voltage (bank 1, sensor 1)",
    "P0133": "O2 sensor slow response (bank 1, sensor 1)",
    "P0135": "O2 sensor heater circuit malfunction (bank 1, sensor 1)",
    "P0141": "O2 sensor heater circuit malfunction (bank 1, sensor 2)",
    "P0171": "System too lean (bank 1)",
    "P0172": "System too rich (bank 1)",
    "P0174": "System too lean (bank 2)",
    "P0175": "System too rich (bank 2)",
    "P0217": "Engine overheat condition",
    "P0234": "Turbocharger overboost condition",
    "P0299": "Turbocharger underboost",
    "P0300": "Random/multiple cylinder misfire detected",
    "P0325": "Knock sensor 1 circuit malfunction",
    "P0335": "Crankshaft position sensor A circuit malfunction",
    "P0340": "Camshaft position sensor circuit malfunction",
    "P0401": "Exhaust gas recirculation flow insufficient",
    "P0402": "Exhaust gas recirculation flow excessive",
    "P0420": "Catalyst system efficiency below threshold (bank 1)",
    "P0430": "Catalyst system efficiency below threshold (bank 2)",
    "P0440": "Evaporative emission system malfunction",
    "P0442": "Evaporative emission system small leak detected",
    "P0446": "Evaporative emission vent control circuit malfunction",
    "P0455": "Evaporative emission system large leak detected",
    "P0456": "Evaporative emission system very small leak detected",
    "P0462": "Fuel level sensor circuit low",
    "P0500": "Vehicle speed sensor malfunction",
    "P0505": "Idle air control system malfunction",
    "P0507": "Idle control system RPM higher than expected",
    "P0520": "Engine oil pressure sensor/switch circuit malfunction",
    "P0562": "System voltage low",
    "P0563": "System voltage high",
    "P0571": "Brake switch A circuit malfunction",
    "P0606": "Engine control module processor fault",
    "P0700": "Transmission control system malfunction",
    "P0715": "Input/turbine speed sensor circuit malfunction",
    "P0730": "Incorrect gear ratio",
    "P2002": "Diesel particulate filter efficiency below threshold (bank 1)",
    "C0035": "Left front wheel speed sensor circuit",
    "U0100": "Lost communication with engine control module",
}

FAMILIES = {"P": "powertrain", "C": "chassis", "B": "body", "U": "network communication"}
SEVERE = frozenset({"P0217", "P0300", "P0520", "P0335", "P0606", "U0100"})


def describe(code: str) -> str:
    """Readable sentence for a code such as ``P0301``."""
    code = code.upper()
    if code in COMMON:
        return COMMON[code]
    if len(code) == 5 and code.startswith("P03") and code[3:].isdigit() and 1 <= int(code[3:]) <= 12:
        return f"Cylinder {int(code[3:])} misfire detected"
    family = FAMILIES.get(code[:1], "unknown system")
    maker = " (manufacturer-specific)" if code[1:2] in ("1", "3") else ""
    return f"{family.capitalize()} fault {code}{maker}; see the vehicle's service manual"


def is_severe(code: str) -> bool:
    """Codes that can damage the engine if driving continues (misfire, overheat, oil pressure)."""
    code = code.upper()
    return code in SEVERE or (code.startswith("P03") and code[3:].isdigit() and 1 <= int(code[3:]) <= 12)
