#!/usr/bin/python3
"""Exports the graph-only ONNX test models in tests/data/onnx/.

Run with Debian's Python (/usr/bin/python3) and its python3-torch and
python3-torchvision (not needed to build or
test Tessel: the exported files are committed). The models are exported with
export_params=False: no weights, the parameters are graph inputs with their
shapes, so the files are small. tests/unit/onnx_test.cpp checks that their
MACs equal the model zoo's for the same networks.
"""
import os

import torch
import torch.nn as nn
import torchvision

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "data", "onnx")


class Attention(nn.Module):
    """Multi-head self-attention written out (separate q, k, v projections,
    literal shapes) so that the export has static shapes everywhere."""

    def __init__(self, tokens, dim, heads):
        super().__init__()
        self.tokens, self.dim, self.heads = tokens, dim, heads
        self.q, self.k, self.v, self.o = (nn.Linear(dim, dim) for _ in range(4))

    def forward(self, x):
        t, h, d = self.tokens, self.heads, self.dim // self.heads
        q = self.q(x).reshape(t, h, d).transpose(0, 1)
        k = self.k(x).reshape(t, h, d).permute(1, 2, 0)
        v = self.v(x).reshape(t, h, d).transpose(0, 1)
        a = torch.softmax(torch.matmul(q, k) / (d ** 0.5), dim=-1)
        return self.o(torch.matmul(a, v).transpose(0, 1).reshape(t, self.dim))


class TinyBert(nn.Module):
    """A post-norm BERT encoder, batch 1: zoo spec
    bert:layers=2,hidden=256,heads=4,sequence=64,vocab=1000."""

    def __init__(self, layers=2, hidden=256, heads=4, tokens=64, vocab=1000):
        super().__init__()
        self.embed = nn.Embedding(vocab, hidden)
        self.norm = nn.LayerNorm(hidden)
        self.attn = nn.ModuleList(Attention(tokens, hidden, heads) for _ in range(layers))
        self.ln1 = nn.ModuleList(nn.LayerNorm(hidden) for _ in range(layers))
        self.up = nn.ModuleList(nn.Linear(hidden, 4 * hidden) for _ in range(layers))
        self.down = nn.ModuleList(nn.Linear(4 * hidden, hidden) for _ in range(layers))
        self.ln2 = nn.ModuleList(nn.LayerNorm(hidden) for _ in range(layers))
        self.pooler = nn.Linear(hidden, hidden)

    def forward(self, ids):
        x = self.norm(self.embed(ids))
        for attn, ln1, up, down, ln2 in zip(self.attn, self.ln1, self.up, self.down, self.ln2):
            x = ln1(x + attn(x))
            x = ln2(x + down(nn.functional.gelu(up(x))))
        return torch.tanh(self.pooler(x[0:1]))


class TinyVit(nn.Module):
    """A pre-norm Vision Transformer, batch 1: zoo spec
    vit:patch=16,dim=192,depth=2,heads=3,resolution=224 (ViT-Ti width)."""

    def __init__(self, patch=16, dim=192, depth=2, heads=3, resolution=224, classes=1000):
        super().__init__()
        n = (resolution // patch) ** 2
        self.n, self.dim = n, dim
        self.patch = nn.Conv2d(3, dim, patch, patch)
        self.cls = nn.Parameter(torch.zeros(1, dim))
        self.pos = nn.Parameter(torch.zeros(n + 1, dim))
        self.ln1 = nn.ModuleList(nn.LayerNorm(dim) for _ in range(depth))
        self.attn = nn.ModuleList(Attention(n + 1, dim, heads) for _ in range(depth))
        self.ln2 = nn.ModuleList(nn.LayerNorm(dim) for _ in range(depth))
        self.fc1 = nn.ModuleList(nn.Linear(dim, 4 * dim) for _ in range(depth))
        self.fc2 = nn.ModuleList(nn.Linear(4 * dim, dim) for _ in range(depth))
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, classes)

    def forward(self, image):
        x = self.patch(image).reshape(self.dim, self.n).transpose(0, 1)
        x = torch.cat([self.cls, x], dim=0) + self.pos
        for ln1, attn, ln2, fc1, fc2 in zip(self.ln1, self.attn, self.ln2, self.fc1, self.fc2):
            x = x + attn(ln1(x))
            x = x + fc2(nn.functional.gelu(fc1(ln2(x))))
        return self.head(self.norm(x)[0:1])


def export(model, example, name):
    model.eval()
    path = os.path.join(OUT, name)
    torch.onnx.export(model, example, path, export_params=False, opset_version=17,
                      input_names=["input"], do_constant_folding=False)
    print(f"{path}: {os.path.getsize(path)} bytes")


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    image = torch.zeros(1, 3, 224, 224)
    export(torchvision.models.resnet18(), image, "resnet18.onnx")
    export(torchvision.models.mobilenet_v2(), image, "mobilenet_v2.onnx")
    export(TinyVit(), image, "tiny_vit.onnx")
    export(TinyBert(), torch.zeros(64, dtype=torch.long), "tiny_bert.onnx")
