"""ST-GCN (Yan et al. 2018) on MediaPipe's 33-joint skeleton, written here in plain PyTorch.

Why not a package: MMAction2 and PYSKL ship ST-GCN for COCO-17 and NTU-25 skeletons behind mmengine's config
and registry machinery, and none for MediaPipe's 33 landmarks with a visibility score; the network itself is
a few dozen lines.

Input B×T×33×4 (x, y, z, visibility; the data module has centred the skeleton on the hips and scaled it by
the torso, and zeroed frames where nobody was found). Per joint and frame the network reads up to three
streams as channels, as two-stream and multi-stream skeleton models do (2s-AGCN, MS-G3D): the joint itself
(x, y, z, visibility), its bone (the vector from its parent joint) and its motion (the change since the last
frame). Missing frames are explicit: a fourth `present` channel is 1 where the pose was found and 0 where not,
and bone and motion are zero wherever a frame (or the frame before, for motion) is missing, so a missing
detection is never read as a joint at the origin that jumped there.

The graph: MediaPipe's 35 pose connections, a neck joining face and body, and self-loops, split by ST-GCN's spatial strategy into three
adjacency matrices (the joint itself, neighbours nearer the torso, neighbours farther from it), each
normalised by degree, with ST-GCN's learnable edge importance on top.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

NUM_JOINTS = 33
# mediapipe.solutions.pose.POSE_CONNECTIONS, written out so the model does not import MediaPipe
EDGES = ((0, 1), (1, 2), (2, 3), (3, 7), (0, 4), (4, 5), (5, 6), (6, 8), (9, 10), (11, 12), (11, 13), (13, 15),
         (15, 17), (15, 19), (15, 21), (17, 19), (12, 14), (14, 16), (16, 18), (16, 20), (16, 22), (18, 20),
         (11, 23), (12, 24), (23, 24), (23, 25), (24, 26), (25, 27), (26, 28), (27, 29), (28, 30), (29, 31),
         (30, 32), (27, 31), (28, 32))
# MediaPipe's connections leave the face apart from the body; a neck (nose to shoulders, as OpenPose's skeleton
# has one) and the mouth to the nose join them, so messages can pass between head and body
GRAPH_EDGES = EDGES + ((0, 11), (0, 12), (0, 9), (0, 10))
CENTRE = (11, 12, 23, 24)  # the torso's corners: shoulders and hips
STREAMS = ("joint", "bone", "motion")


def hops_from_centre() -> np.ndarray:
    """Graph distance of every joint to the torso (breadth-first over GRAPH_EDGES)."""
    adj = {v: set() for v in range(NUM_JOINTS)}
    for a, b in GRAPH_EDGES:
        adj[a].add(b)
        adj[b].add(a)
    hops = np.full(NUM_JOINTS, -1)
    frontier = list(CENTRE)
    hops[frontier] = 0
    while frontier:
        nxt = []
        for v in frontier:
            for w in adj[v]:
                if hops[w] < 0:
                    hops[w] = hops[v] + 1
                    nxt.append(w)
        frontier = nxt
    return hops


def parents() -> list[int]:
    """Each joint's neighbour one hop nearer the torso (itself for the torso joints): the bone stream's origin."""
    hops, out = hops_from_centre(), []
    for v in range(NUM_JOINTS):
        near = [w for a, b in GRAPH_EDGES for u, w in ((a, b), (b, a))
                if u == v and hops[w] == hops[v] - 1]
        out.append(min(near) if near else v)
    return out


def spatial_adjacency() -> np.ndarray:
    """3×V×V: self-loops, edges towards the torso, edges away from it (ST-GCN's spatial partitioning), each
    column-normalised by the node degree."""
    hops = hops_from_centre()
    a = np.zeros((3, NUM_JOINTS, NUM_JOINTS), np.float32)
    a[0] = np.eye(NUM_JOINTS)
    for i, j in GRAPH_EDGES:
        for u, v in ((i, j), (j, i)):  # message from v to u
            if hops[v] < hops[u]:
                a[1, u, v] = 1
            elif hops[v] > hops[u]:
                a[2, u, v] = 1
            else:
                a[0, u, v] = 1
    degree = a.sum((0, 1))  # how many messages each source node sends
    return a / np.maximum(degree, 1)[None, None, :]


class GraphConv(nn.Module):
    """Spatial graph convolution: a 1×1 convolution to K partitions, each mixed over joints by its adjacency
    (times a learnable edge importance), summed."""

    def __init__(self, c_in: int, c_out: int, adjacency: torch.Tensor):
        super().__init__()
        self.register_buffer("adjacency", adjacency)
        self.importance = nn.Parameter(torch.ones_like(adjacency))
        self.k = adjacency.shape[0]
        self.conv = nn.Conv2d(c_in, c_out * self.k, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # B×C×T×V
        b, _, t, v = x.shape
        y = self.conv(x).view(b, self.k, -1, t, v)
        return torch.einsum("bkctv,kvw->bctw", y, self.adjacency * self.importance)


class STBlock(nn.Module):
    """GCN -> BN -> ReLU -> temporal convolution (9 frames) -> BN, with a residual connection, then ReLU."""

    def __init__(self, c_in: int, c_out: int, adjacency: torch.Tensor, stride: int = 1, dropout: float = 0.0,
                 kernel: int = 9, residual: bool = True):
        super().__init__()
        self.gcn = GraphConv(c_in, c_out, adjacency)
        self.tcn = nn.Sequential(nn.BatchNorm2d(c_out), nn.ReLU(inplace=True),
                                 nn.Conv2d(c_out, c_out, (kernel, 1), (stride, 1), (kernel // 2, 0)),
                                 nn.BatchNorm2d(c_out), nn.Dropout(dropout, inplace=True))
        if not residual:
            self.residual = None
        elif c_in == c_out and stride == 1:
            self.residual = nn.Identity()
        else:
            self.residual = nn.Sequential(nn.Conv2d(c_in, c_out, 1, (stride, 1)), nn.BatchNorm2d(c_out))
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.tcn(self.gcn(x))
        return self.relu(y + self.residual(x) if self.residual is not None else y)


class STGCN(nn.Module):
    """channels: the output channels of each block; strides: their temporal strides (ST-GCN: 64×4, 128×3,
    256×3 with stride 2 entering the 128 and 256 blocks)."""

    def __init__(self, num_classes: int, channels=(64, 64, 64, 64, 128, 128, 128, 256, 256, 256),
                 strides=(1, 1, 1, 1, 2, 1, 1, 2, 1, 1), streams=STREAMS, dropout: float = 0.0, kernel: int = 9):
        super().__init__()
        unknown = [s for s in streams if s not in STREAMS]
        if unknown or not streams:
            raise ValueError(f"stgcn streams {list(streams)}; allowed values: {', '.join(STREAMS)}")
        if len(channels) != len(strides):
            raise ValueError(f"stgcn: {len(channels)} channels but {len(strides)} strides")
        self.streams = tuple(streams)
        self.register_buffer("parent", torch.tensor(parents()))
        c_in = 4 * ("joint" in streams) + 3 * ("bone" in streams) + 3 * ("motion" in streams) + 1  # + present
        adjacency = torch.from_numpy(spatial_adjacency())
        self.data_bn = nn.BatchNorm1d(c_in * NUM_JOINTS)
        blocks, c = [], c_in
        for i, (out, stride) in enumerate(zip(channels, strides)):
            blocks.append(STBlock(c, out, adjacency, stride, dropout if i else 0.0, kernel, residual=i > 0))
            c = out
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Linear(c, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """B×T×V×4 keypoints -> B×C×T×V input channels (see the module docstring)."""
        present = (x.abs().sum((2, 3)) > 0).to(x.dtype)[:, :, None, None].expand(-1, -1, NUM_JOINTS, 1)
        xyz, parts = x[..., :3], []
        if "joint" in self.streams:
            parts.append(x)
        if "bone" in self.streams:
            parts.append((xyz - xyz[:, :, self.parent]) * present)
        if "motion" in self.streams:
            both = present[:, 1:] * present[:, :-1]
            parts.append(torch.cat([torch.zeros_like(xyz[:, :1]), (xyz[:, 1:] - xyz[:, :-1]) * both], 1))
        return torch.cat(parts + [present], -1).permute(0, 3, 1, 2).contiguous()

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # B×T×33×4
        x = self.features(x)
        b, c, t, v = x.shape
        x = self.data_bn(x.permute(0, 3, 1, 2).reshape(b, v * c, t)).view(b, v, c, t).permute(0, 2, 3, 1)
        return self.head(self.blocks(x).mean((2, 3)))
