"""The cartoon-dancer renderer behind the offline `synthetic` source: real H.264 mp4 files.

Each class is a choreography: a cycle of key poses with beat counts, plus an
optional overlay (hip sway, bounce, travel, spin). Everything that varies per
clip (body, colours, background, placement, camera jitter, tempo, phase,
mirroring, length) is drawn from one seeded generator, so a clip id always
renders the same video.

`dancing charleston` and `jumpstyle dancing` share the same key poses and the
same timing; one is the other played backwards. No single frame separates
them, only the order of poses does: this is the pair on which temporal models
must beat the per-frame model.
"""
from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from src.media import encode_h264
from src.splits import clip_seed

# --- key poses -------------------------------------------------------------
# Limb angles in degrees, measured outward from hanging straight down
# (0 = down, 90 = horizontal outward, 180 = straight up). Elbow/knee values
# bend the lower segment further (arms: upward/inward; legs: inward).
# lift (0..1) raises a knee towards the camera (thigh foreshortened).
# root_y: vertical offset of the whole body in figure heights (negative = up).
NEUTRAL = dict(r_sho=15, r_elb=10, l_sho=15, l_elb=10, r_hip=6, r_knee=0, l_hip=6, l_knee=0,
               r_lift=0.0, l_lift=0.0, lean=0.0, root_y=0.0, root_x=0.0, sway=0.0, yaw=0.0)


def _pose(**kw) -> dict:
    p = dict(NEUTRAL)
    unknown = set(kw) - set(p)
    assert not unknown, unknown
    p.update(kw)
    return p


POSES = {
    # belly dancing
    "belly_up": _pose(r_sho=160, r_elb=50, l_sho=160, l_elb=50, r_hip=8, l_hip=8, r_knee=10, l_knee=10),
    "belly_side": _pose(r_sho=95, r_elb=25, l_sho=95, l_elb=-25, r_hip=8, l_hip=8, r_knee=12, l_knee=12),
    # breakdancing (low, one hand on the floor, leg sweeps)
    "break_crouch": _pose(r_sho=25, r_elb=0, l_sho=25, l_elb=0, r_hip=50, r_knee=100, l_hip=50, l_knee=100,
                          root_y=0.22, lean=0),
    "break_sweep_r": _pose(r_sho=10, r_elb=0, l_sho=120, l_elb=20, r_hip=85, r_knee=0, l_hip=40, l_knee=90,
                           root_y=0.2, lean=-18),
    "break_sweep_l": _pose(l_sho=10, l_elb=0, r_sho=120, r_elb=20, l_hip=85, l_knee=0, r_hip=40, r_knee=90,
                           root_y=0.2, lean=18),
    "break_freeze": _pose(r_sho=170, r_elb=0, l_sho=15, l_elb=0, r_hip=60, r_knee=70, l_hip=30, l_knee=100,
                          root_y=0.18, lean=-25),
    # country line dancing (thumbs in belt, grapevine steps)
    "line_hips": _pose(r_sho=40, r_elb=105, l_sho=40, l_elb=105, r_hip=4, l_hip=4),
    "line_cross": _pose(r_sho=40, r_elb=105, l_sho=40, l_elb=105, r_hip=-14, r_knee=8, l_hip=10),
    "line_heel": _pose(r_sho=40, r_elb=105, l_sho=40, l_elb=105, r_hip=28, r_knee=0, l_hip=2, l_knee=12),
    # ballet (rounded arms, releve, arabesque, pirouette via the spin overlay)
    "ballet_haut": _pose(r_sho=165, r_elb=35, l_sho=165, l_elb=35, r_hip=2, l_hip=2, root_y=-0.03),
    "ballet_second": _pose(r_sho=85, r_elb=15, l_sho=85, l_elb=15, r_hip=14, l_hip=14),
    "ballet_arabesque": _pose(r_sho=150, r_elb=5, l_sho=70, l_elb=5, r_hip=3, l_hip=100, l_knee=0,
                              lean=-20, root_y=-0.02),
    # charleston / jumpstyle shared poses. Each is left/right symmetric, so mirroring a clip
    # (the generator and the flip augmentation both do) can never turn one order into the other.
    "kick_knees_in": _pose(r_sho=40, r_elb=105, l_sho=40, l_elb=105, r_hip=-8, r_knee=40, l_hip=-8, l_knee=40,
                           root_y=0.06),
    "kick_jump_up": _pose(r_sho=150, r_elb=10, l_sho=150, l_elb=10, r_hip=22, r_knee=5, l_hip=22, l_knee=5,
                          root_y=-0.06),
    "kick_knees_out": _pose(r_sho=90, r_elb=60, l_sho=90, l_elb=60, r_hip=38, r_knee=70, l_hip=38, l_knee=70,
                            root_y=0.1),
    "kick_tuck": _pose(r_sho=15, r_elb=5, l_sho=15, l_elb=5, r_hip=4, r_knee=0, l_hip=4, l_knee=0),
    # gangnam style (crossed wrists on the reins, galloping knee lifts, lasso)
    "gangnam_ride_r": _pose(r_sho=35, r_elb=120, l_sho=35, l_elb=120, r_hip=14, r_knee=60, r_lift=0.6,
                            l_hip=22, l_knee=30, root_y=0.04),
    "gangnam_ride_l": _pose(r_sho=35, r_elb=120, l_sho=35, l_elb=120, l_hip=14, l_knee=60, l_lift=0.6,
                            r_hip=22, r_knee=30, root_y=0.04),
    "gangnam_lasso": _pose(r_sho=170, r_elb=60, l_sho=35, l_elb=120, r_hip=22, r_knee=30, l_hip=22, l_knee=30,
                           root_y=0.04),
    # macarena arm sequence
    "mac_r_out": _pose(r_sho=90, r_elb=0, l_sho=12, l_elb=5),
    "mac_l_out": _pose(r_sho=90, r_elb=0, l_sho=90, l_elb=0),
    "mac_r_shoulder": _pose(r_sho=40, r_elb=140, l_sho=90, l_elb=0),
    "mac_l_shoulder": _pose(r_sho=40, r_elb=140, l_sho=40, l_elb=140),
    "mac_r_head": _pose(r_sho=150, r_elb=150, l_sho=40, l_elb=140),
    "mac_l_head": _pose(r_sho=150, r_elb=150, l_sho=150, l_elb=150),
    "mac_r_hip": _pose(r_sho=30, r_elb=95, l_sho=150, l_elb=150),
    "mac_l_hip": _pose(r_sho=30, r_elb=95, l_sho=30, l_elb=95, r_hip=10, l_hip=10),
}

KICK_CYCLE = ["kick_knees_in", "kick_jump_up", "kick_knees_out", "kick_tuck"]


@dataclass(frozen=True)
class Choreography:
    """A cycle of (key pose, beats) plus overlays; bpm is the class's base tempo."""
    steps: tuple
    bpm: float
    sway: float = 0.0      # hip sway amplitude (figure heights), one period per 2 beats
    bounce: float = 0.0    # vertical bounce amplitude, one bounce per beat
    travel: float = 0.0    # sideways travel amplitude over the whole cycle
    spin_at: int = -1      # index of the step during which the dancer spins once
    backwards: bool = False  # play the cycle in reverse time

    def key_poses(self) -> list:
        names = [name for name, _ in self.steps]
        return names[::-1] if self.backwards else names


CHARLESTON = Choreography(steps=tuple((p, 1) for p in KICK_CYCLE), bpm=100, bounce=0.015)

CHOREOGRAPHIES = {
    "belly dancing": Choreography(steps=(("belly_up", 2), ("belly_side", 2)), bpm=90, sway=0.07),
    "breakdancing": Choreography(steps=(("break_crouch", 1), ("break_sweep_r", 1), ("break_crouch", 1),
                                        ("break_sweep_l", 1), ("break_freeze", 2)), bpm=110),
    "country line dancing": Choreography(steps=(("line_hips", 1), ("line_cross", 1), ("line_hips", 1),
                                                ("line_heel", 1)), bpm=110, travel=0.18, bounce=0.01),
    "dancing ballet": Choreography(steps=(("ballet_second", 2), ("ballet_haut", 2), ("ballet_arabesque", 2)),
                                   bpm=70, spin_at=1),
    "dancing charleston": CHARLESTON,
    "dancing gangnam style": Choreography(steps=(("gangnam_ride_r", 1), ("gangnam_ride_l", 1),
                                                 ("gangnam_ride_r", 1), ("gangnam_lasso", 1)),
                                          bpm=120, bounce=0.03),
    "dancing macarena": Choreography(steps=tuple((p, 1) for p in [
        "mac_r_out", "mac_l_out", "mac_r_shoulder", "mac_l_shoulder",
        "mac_r_head", "mac_l_head", "mac_r_hip", "mac_l_hip"]), bpm=100, sway=0.03),
    "jumpstyle dancing": dataclasses.replace(CHARLESTON, backwards=True),
}
CLASSES = tuple(sorted(CHOREOGRAPHIES))
# The class pair that only the order of poses separates (see module docstring).
ORDER_PAIR = ("dancing charleston", "jumpstyle dancing")


def _ease(x: float) -> float:
    return 0.5 - 0.5 * math.cos(math.pi * x)


def pose_at(choreo: Choreography, beat: float) -> dict:
    """Joint angles at a (fractional) beat: each key pose is held, then blended into
    the next; a backwards choreography plays the same function in reverse time."""
    total = sum(b for _, b in choreo.steps)
    if choreo.backwards:
        beat = -beat
    t = beat % total
    acc = 0.0
    for i, (name, beats) in enumerate(choreo.steps):
        if t < acc + beats:
            nxt = choreo.steps[(i + 1) % len(choreo.steps)][0]
            # hold the first 30% of the step, then move to the next pose
            frac = (t - acc) / beats
            w = _ease(max(0.0, (frac - 0.3) / 0.7))
            a, b = POSES[name], POSES[nxt]
            p = {k: a[k] * (1 - w) + b[k] * w for k in a}
            if i == choreo.spin_at:
                p["yaw"] = 2 * math.pi * frac
            break
        acc += beats
    p["sway"] += choreo.sway * math.sin(math.pi * beat)
    p["root_y"] -= choreo.bounce * abs(math.sin(math.pi * beat)) * 4
    p["root_x"] += choreo.travel * math.sin(2 * math.pi * beat / total)
    return p


# --- per-clip randomness ----------------------------------------------------
SKIN = [(189, 224, 255), (140, 190, 235), (105, 150, 205), (70, 105, 160), (45, 70, 115), (160, 200, 240)]
HAIR = [(20, 20, 20), (30, 50, 90), (40, 90, 160), (200, 200, 210), (20, 40, 60)]


@dataclass(frozen=True)
class Look:
    """Everything random about one clip, drawn once from its seed."""
    height_frac: float
    cx: float
    cy: float
    proportions: dict
    skin: tuple
    shirt: tuple
    pants: tuple
    hair: tuple
    shoes: tuple
    background: str
    bg_colors: tuple
    tempo: float
    phase: float
    mirror: bool
    jitter: float
    seconds: float
    others: tuple = ()  # Bystander figures behind or beside the dancer (drawn before it)


@dataclass(frozen=True)
class Bystander:
    """Another person in the picture: smaller (farther back) and off-centre, standing still, swaying, or
    dancing another class's choreography at its own tempo. draw_figure reads it like a Look."""
    height_frac: float
    cx: float
    cy: float
    proportions: dict
    skin: tuple
    shirt: tuple
    pants: tuple
    hair: tuple
    shoes: tuple
    behaviour: str       # "still" | "sway" | a class name (dances that choreography)
    tempo: float
    phase: float


STILL = Choreography(steps=(("kick_tuck", 1),), bpm=60)
SWAY = Choreography(steps=(("kick_tuck", 1),), bpm=60, sway=0.05)
# share of clips with nobody else / one bystander / a small crowd, per style
OTHERS_TRAIN, OTHERS_SHIFTED = (0.5, 0.3, 0.2), (0.3, 0.4, 0.3)


def bystander_pose(b: Bystander, t: float) -> dict:
    choreo = STILL if b.behaviour == "still" else SWAY if b.behaviour == "sway" else CHOREOGRAPHIES[b.behaviour]
    return pose_at(choreo, b.phase + t * b.tempo)


# Natural-image backgrounds: photographs scikit-image ships in its wheel (none shows a person, who would
# draw MediaPipe's eye). Training clips see the first set; the shifted test split only the second.
NATURAL_TRAIN = ("coffee.png", "rocket.jpg", "brick.png", "grass.png", "moon.png", "hubble_deep_field.jpg",
                 "coins.png", "ihc.png")
NATURAL_SHIFTED = ("chelsea.png", "motorcycle_left.png", "gravel.png", "retina.jpg")
# camera distance as the dancer's height over the frame's: the shifted split films from farther away
HEIGHT_TRAIN, HEIGHT_SHIFTED = (0.68, 0.85), (0.48, 0.62)
STYLES = ("train", "shifted", "panning")
# "panning": the shifted style filmed by a camera that pans and zooms in over the clip, as handheld Kinetics
# clips do (not a split of the data: benchmarks/bench_pose.py and tests/test_pose.py measure the pose
# front-end's fallback on it). Over a clip the view zooms in by PAN_ZOOM and slides by PAN_SLIDE of the width.
PAN_ZOOM, PAN_SLIDE = 0.35, 0.15


def draw_look(rng: np.random.Generator, bpm: float, seconds: float, style: str = "train", label: str = "") -> Look:
    """Everything random about one clip. style "train": drawn backgrounds or one of NATURAL_TRAIN, the
    usual camera distance; "shifted": a NATURAL_SHIFTED photograph and a camera farther away."""
    def color():
        return tuple(int(c) for c in rng.integers(30, 230, 3))
    props = dict(head=0.068, neck=0.035, torso=0.29, shoulder=0.2, hipw=0.15,
                 upper=0.15, fore=0.14, thigh=0.23, shin=0.22, limb=0.06)
    props = {k: v * float(rng.uniform(0.9, 1.1)) for k, v in props.items()}
    if style == "shifted":
        background = "natural:" + str(rng.choice(NATURAL_SHIFTED))
    else:
        background = str(rng.choice(["plain", "gradient", "noise", "shapes", "natural", "natural"]))
        if background == "natural":
            background += ":" + str(rng.choice(NATURAL_TRAIN))
    look = Look(
        height_frac=float(rng.uniform(*(HEIGHT_SHIFTED if style == "shifted" else HEIGHT_TRAIN))),
        cx=float(rng.uniform(0.38, 0.62)),
        cy=float(rng.uniform(0.47, 0.53)), proportions=props,
        skin=SKIN[rng.integers(len(SKIN))], shirt=color(), pants=color(), hair=HAIR[rng.integers(len(HAIR))],
        shoes=color(), background=background,
        bg_colors=(color(), color(), color()), tempo=bpm * float(rng.uniform(0.75, 1.25)) / 60.0,
        phase=float(rng.uniform(0, 16)), mirror=bool(rng.integers(2)), jitter=float(rng.uniform(0, 3)),
        seconds=seconds)
    return dataclasses.replace(look, others=draw_others(rng, look, style, label))


def draw_others(rng: np.random.Generator, look: Look, style: str, label: str) -> tuple:
    """Nobody, one bystander beside the dancer, or a small crowd behind it, drawn after the dancer's look so
    the dancer of a clip id stays the same. Bystanders are smaller (farther back) and off-centre; they stand
    still, sway, or dance another class's choreography, so only the track of the dancer tells the class."""
    def color():
        return tuple(int(c) for c in rng.integers(30, 230, 3))
    p_none, p_one, _ = OTHERS_SHIFTED if style == "shifted" else OTHERS_TRAIN
    u = float(rng.random())
    count = 0 if u < p_none else 1 if u < p_none + p_one else int(rng.integers(2, 4))
    others = []
    for i in range(count):
        crowd = count > 1
        scale = float(rng.uniform(0.4, 0.6) if crowd else rng.uniform(0.55, 0.8))
        side = 1 if rng.random() < 0.5 else -1
        cx = look.cx + side * float(rng.uniform(0.22, 0.4))
        if not 0.08 <= cx <= 0.92:
            cx = look.cx - side * float(rng.uniform(0.22, 0.4))
        behaviour = str(rng.choice(["still", "sway", "dance"]))
        if behaviour == "dance":
            behaviour = str(rng.choice([c for c in CLASSES if c != label]))
        props = {k: v * float(rng.uniform(0.9, 1.1)) for k, v in look.proportions.items()}
        others.append(Bystander(
            height_frac=look.height_frac * scale, cx=float(np.clip(cx, 0.08, 0.92)),
            cy=look.cy - look.height_frac * (1 - scale) * 0.35, proportions=props,
            skin=SKIN[rng.integers(len(SKIN))], shirt=color(), pants=color(), hair=HAIR[rng.integers(len(HAIR))],
            shoes=color(), behaviour=behaviour, tempo=float(rng.uniform(0.8, 2.2)), phase=float(rng.uniform(0, 16))))
    return tuple(others)


@functools.lru_cache(maxsize=16)
def natural_image(name: str) -> np.ndarray:
    """One of scikit-image's bundled photographs as BGR uint8 (grey ones stay grey, in 3 channels)."""
    import skimage.data
    img = cv2.imread(str(Path(skimage.data.data_dir) / name), cv2.IMREAD_COLOR)
    if img is None:
        raise FileNotFoundError(f"scikit-image's bundled image {name} is missing from {skimage.data.data_dir}")
    return img


def _natural(name: str, c0: np.ndarray, w: int, h: int, rng: np.random.Generator) -> np.ndarray:
    """A random crop of the photograph (60-100% of its short side, the frame's aspect), maybe mirrored,
    grey photographs tinted with the clip's colour: a real scene behind the dancer."""
    img = natural_image(name)
    ih, iw = img.shape[:2]
    ch = int(min(ih, iw * h / w) * rng.uniform(0.6, 1.0))
    cw = int(ch * w / h)
    y, x = int(rng.integers(0, ih - ch + 1)), int(rng.integers(0, iw - cw + 1))
    crop = cv2.resize(img[y:y + ch, x:x + cw], (w, h), interpolation=cv2.INTER_AREA).astype(np.float32)
    if rng.random() < 0.5:
        crop = crop[:, ::-1]
    if np.allclose(crop[..., 0], crop[..., 1]) and np.allclose(crop[..., 1], crop[..., 2]):
        crop = crop * (0.5 + c0 / 510.0)  # tint a grey photograph
    return crop


def _background(look: Look, w: int, h: int, rng: np.random.Generator) -> np.ndarray:
    c0, c1, c2 = (np.array(c, np.float32) for c in look.bg_colors)
    if look.background.startswith("natural:"):
        img = _natural(look.background.split(":", 1)[1], c0, w, h, rng)
    elif look.background == "plain":
        img = np.empty((h, w, 3), np.float32)
        img[:] = c0
    elif look.background == "gradient":
        t = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
        img = np.broadcast_to(c0 * (1 - t) + c1 * t, (h, w, 3)).copy()
    elif look.background == "noise":
        small = rng.random((h // 8 + 1, w // 8 + 1, 1)).astype(np.float32)
        t = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)[..., None]
        t = 0.3 + 0.4 * t  # a texture, not a second scene: keep its contrast moderate
        img = c0 * (1 - t) + c1 * t
    else:
        img = np.empty((h, w, 3), np.float32)
        img[:] = c0 * 0.8 + 40
        for _ in range(int(rng.integers(3, 7))):
            col = tuple(float(v) for v in rng.integers(0, 255, 3))
            x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
            if rng.random() < 0.5:
                cv2.circle(img, (x, y), int(rng.integers(8, 30)), col, -1)
            else:
                cv2.rectangle(img, (x, y), (x + int(rng.integers(10, 50)), y + int(rng.integers(10, 50))), col, -1)
    return np.clip(img, 0, 255).astype(np.uint8)


def _seg(p, angle_deg: float, length: float, side: int):
    a = math.radians(angle_deg)
    return (p[0] + side * math.sin(a) * length, p[1] + math.cos(a) * length)


def _pt(p):
    return (int(round(p[0] * 16)), int(round(p[1] * 16)))


def figure_geometry(pose: dict, look, w: int, h: int) -> dict:
    """Where the figure's parts are in a w×h frame: limbs per side (shoulder, elbow, hand, hip, knee, foot),
    the shoulder centre, the head centre and radius, the limb width."""
    H = look.height_frac * h
    pr = {k: v * H for k, v in look.proportions.items()}
    widthk = max(0.15, abs(math.cos(pose["yaw"])))     # spinning squeezes the body
    front = math.cos(pose["yaw"]) >= 0
    cx = (look.cx + pose["root_x"]) * w
    hip_c = (cx + pose["sway"] * H, look.cy * h + (0.08 + pose["root_y"]) * H)
    lean = math.radians(pose["lean"])
    sho_c = (hip_c[0] - math.sin(lean) * pr["torso"] - pose["sway"] * H * 0.6,
             hip_c[1] - math.cos(lean) * pr["torso"])
    lw = max(3, int(pr["limb"]))
    parts = {}
    for side, s in (("r", -1), ("l", 1)):
        sho = (sho_c[0] + s * pr["shoulder"] / 2 * widthk, sho_c[1])
        elb = _seg(sho, pose[f"{side}_sho"], pr["upper"], s)
        hand = _seg(elb, pose[f"{side}_sho"] + pose[f"{side}_elb"], pr["fore"], s)
        hip = (hip_c[0] + s * pr["hipw"] / 2 * widthk, hip_c[1])
        lift = pose[f"{side}_lift"]
        knee = _seg(hip, pose[f"{side}_hip"], pr["thigh"] * (1 - 0.55 * lift), s)
        foot = _seg(knee, pose[f"{side}_hip"] - pose[f"{side}_knee"], pr["shin"], s)
        parts[side] = (sho, elb, hand, hip, knee, foot)
    neck_top = (sho_c[0] - math.sin(lean) * pr["neck"], sho_c[1] - pr["neck"])
    head = (neck_top[0] - math.sin(lean) * pr["head"], neck_top[1] - pr["head"] * 0.9)
    return dict(parts=parts, sho_c=sho_c, neck_top=neck_top, head=head, r=pr["head"], lw=lw, widthk=widthk,
                front=front)


def figure_box(pose: dict, look, w: int, h: int) -> tuple[float, float, float, float]:
    """(x0, y0, x1, y1) in pixels around everything the figure draws in this pose."""
    g = figure_geometry(pose, look, w, h)
    pts = np.array([pt for side in g["parts"].values() for pt in side] + [g["head"]], np.float64)
    pad = g["lw"] * 1.5
    (x0, y0), (x1, y1) = pts.min(0) - pad, pts.max(0) + pad
    return float(x0), float(min(y0, g["head"][1] - 1.2 * g["r"])), float(x1), float(y1)


def draw_figure(img: np.ndarray, pose: dict, look) -> None:
    """Draw a cartoon figure (the dancer, or a Bystander) in place (fixed-point coordinates, anti-aliased)."""
    h, w = img.shape[:2]
    g = figure_geometry(pose, look, w, h)
    parts, sho_c, lw, widthk, front = g["parts"], g["sho_c"], g["lw"], g["widthk"], g["front"]
    aa, shift = cv2.LINE_AA, 4
    # legs first (behind torso), then torso, arms, head
    for side in ("r", "l"):
        sho, elb, hand, hip, knee, foot = parts[side]
        cv2.line(img, _pt(hip), _pt(knee), look.pants, lw + 2, aa, shift)
        cv2.line(img, _pt(knee), _pt(foot), look.pants, lw, aa, shift)
        cv2.ellipse(img, _pt(foot), (int(lw * 16), int(lw * 10)), 0, 0, 360, look.shoes, -1, aa, shift)
    torso = np.array([_pt(parts["r"][0]), _pt(parts["l"][0]),
                      _pt((parts["l"][3][0] + lw * 0.3, parts["l"][3][1])),
                      _pt((parts["r"][3][0] - lw * 0.3, parts["r"][3][1]))], np.int32)
    cv2.fillConvexPoly(img, torso, look.shirt, aa, shift)
    cv2.line(img, _pt(parts["r"][3]), _pt(parts["l"][3]), look.pants, lw + 2, aa, shift)
    for side in ("r", "l"):
        sho, elb, hand, *_ = parts[side]
        cv2.line(img, _pt(sho), _pt(elb), look.shirt, lw + 1, aa, shift)
        cv2.line(img, _pt(elb), _pt(hand), look.skin, lw, aa, shift)
        cv2.circle(img, _pt(hand), int(lw * 0.75 * 16), look.skin, -1, aa, shift)
    neck_top, head, r = g["neck_top"], g["head"], g["r"]
    cv2.line(img, _pt(sho_c), _pt(neck_top), look.skin, lw + 1, aa, shift)
    cv2.ellipse(img, _pt(head), (int(r * 16 * max(0.8, widthk)), int(r * 1.15 * 16)), 0, 0, 360,
                look.skin, -1, aa, shift)
    # hair cap on top; seen from behind the whole head is hair
    if front:
        cv2.ellipse(img, _pt((head[0], head[1] - r * 0.2)), (int(r * 16 * max(0.8, widthk)), int(r * 16)),
                    0, 180, 360, look.hair, -1, aa, shift)
        off = r * 0.38 * widthk
        for s in (-1, 1):
            eye = (head[0] + s * off, head[1] + r * 0.05)
            cv2.circle(img, _pt(eye), int(r * 0.22 * 16), (255, 255, 255), -1, aa, shift)
            cv2.circle(img, _pt(eye), int(r * 0.11 * 16), (30, 30, 30), -1, aa, shift)
        nose = np.array([_pt((head[0], head[1] + r * 0.1)), _pt((head[0] - r * 0.1, head[1] + r * 0.4)),
                         _pt((head[0] + r * 0.1, head[1] + r * 0.4))], np.int32)
        cv2.fillConvexPoly(img, nose, tuple(int(c * 0.8) for c in look.skin), aa, shift)
        cv2.ellipse(img, _pt((head[0], head[1] + r * 0.62)), (int(r * 0.3 * 16), int(r * 0.14 * 16)),
                    0, 0, 180, (60, 40, 160), max(1, int(r * 0.08)), aa, shift)
    else:
        cv2.ellipse(img, _pt(head), (int(r * 16 * max(0.8, widthk)), int(r * 1.15 * 16)), 0, 0, 360,
                    look.hair, -1, aa, shift)


def scene(label: str, clip_id: str, seed: int, seconds: float, width: int, height: int, fps: int,
          style: str = "train", draw: bool = True):
    """Walk one clip frame by frame: yields (BGR frame or None, the dancer's box (x0, y0, x1, y1) as fractions
    of the frame). The same arguments give the same frames; draw=False only computes the boxes (the same random
    stream, none of the drawing), which is how the pose stage learns where the labelled dancer is."""
    choreo = CHOREOGRAPHIES[label]
    rng = np.random.default_rng(clip_seed(seed, clip_id))
    look = draw_look(rng, choreo.bpm, seconds, "shifted" if style == "panning" else style, label)
    bg = _background(look, width, height, rng)
    n = int(round(seconds * fps))
    jx = jy = 0.0
    for i in range(n):
        t = i / fps
        pose = pose_at(choreo, look.phase + t * look.tempo)
        img = None
        if draw:
            img = bg.copy()
            for other in look.others:  # behind the dancer
                draw_figure(img, bystander_pose(other, t), other)
            draw_figure(img, pose, look)
        # camera jitter: smooth random walk, applied as a sub-pixel shift
        jx = 0.8 * jx + rng.normal(0, look.jitter)
        jy = 0.8 * jy + rng.normal(0, look.jitter)
        # the panning camera: zoom about the frame's centre, then slide; applied with the jitter in one warp
        u = i / max(1, n - 1) if style == "panning" else 0.0
        z, slide = 1 + PAN_ZOOM * u, -PAN_SLIDE * width * u
        m = np.float32([[z, 0, (1 - z) * width / 2 + slide + z * jx], [0, z, (1 - z) * height / 2 + z * jy]])
        if draw:
            img = cv2.warpAffine(img, m, (width, height), borderMode=cv2.BORDER_REPLICATE)
            img = np.ascontiguousarray(img[:, ::-1]) if look.mirror else img
        x0, y0, x1, y1 = figure_box(pose, look, width, height)
        # the same warp on the box, in float64 (without the pan: exactly the shift by the jitter, as before)
        x0, x1 = [z * x + (1 - z) * width / 2 + slide + z * jx for x in (x0, x1)]
        y0, y1 = [z * y + (1 - z) * height / 2 + z * jy for y in (y0, y1)]
        if look.mirror:
            x0, x1 = width - x1, width - x0
        yield img, (x0 / width, y0 / height, x1 / width, y1 / height)


def render_frames(label: str, clip_id: str, seed: int, seconds: float, width: int, height: int,
                  fps: int, style: str = "train"):
    """Yield the BGR frames of one clip; the same arguments give the same frames."""
    for img, _ in scene(label, clip_id, seed, seconds, width, height, fps, style):
        yield img


def dancer_boxes(label: str, clip_id: str, seed: int, seconds: float, width: int, height: int, fps: int,
                 style: str = "train") -> np.ndarray:
    """The labelled dancer's box in every rendered frame, N×4 fractions (x0, y0, x1, y1) of the frame."""
    return np.array([box for _, box in scene(label, clip_id, seed, seconds, width, height, fps, style, draw=False)])


def render_clip(path: Path, label: str, clip_id: str, seed: int, seconds: float, width: int, height: int,
                fps: int, crf: int = 20, style: str = "train") -> int:
    """Render one clip to an H.264 mp4; returns bytes written."""
    frames = (cv2.cvtColor(f, cv2.COLOR_BGR2RGB) for f in render_frames(label, clip_id, seed, seconds, width,
                                                                        height, fps, style))
    return encode_h264(path, frames, fps, crf)
