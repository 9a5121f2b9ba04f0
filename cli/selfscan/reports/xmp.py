"""XMP sidecars with face regions, for photo managers (digiKam, Lightroom, darktable, Windows).

Each matching face becomes a region named after the person, written twice:

- MWG regions (``mwg-rs:Regions``): the centre and size of the box, normalised to the stored
  image, with ``AppliedToDimensions`` giving that image's pixel size.
- Microsoft Photo regions (``MP:RegionInfo``): ``"left, top, width, height"``, normalised.

Both describe the image as stored in the file, before its EXIF orientation is applied, while scan
results give boxes in upright coordinates: ``geometry.stored_box`` maps them back.
"""

from __future__ import annotations

import re
from xml.sax.saxutils import escape, quoteattr

from ..geometry import stored_box, stored_size
from ..types import FaceHit, FileResult

NS = {
    "x": "adobe:ns:meta/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "mwg-rs": "http://www.metadataworkinggroup.com/schemas/regions/",
    "stDim": "http://ns.adobe.com/xap/1.0/sType/Dimensions#",
    "stArea": "http://ns.adobe.com/xmp/sType/Area#",
    "MP": "http://ns.microsoft.com/photo/1.2/",
    "MPRI": "http://ns.microsoft.com/photo/1.2/t/RegionInfo#",
    "MPReg": "http://ns.microsoft.com/photo/1.2/t/Region#",
}
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


def matching_faces(result: FileResult, threshold: float) -> list[FaceHit]:
    """The faces of ``result`` that are the person: similarity at least ``threshold``."""
    return [f for f in result.faces if f.similarity is not None and f.similarity >= threshold]


def _clean(text: str) -> str:
    return _NOT_XML.sub("", text)


def _num(value: float) -> str:
    return f"{min(1.0, max(0.0, value)):.6f}"


def sidecar(result: FileResult, person: str, threshold: float = 0.4) -> str | None:
    """The XMP sidecar text with a face region per matching face of ``result``, named
    ``person``; None when the result has no image size or no matching face."""
    if not result.width or not result.height:
        return None
    faces = matching_faces(result, threshold)
    if not faces:
        return None
    w, h, o = result.width, result.height, result.orientation
    sw, sh = stored_size(w, h, o)
    name = escape(_clean(person))
    if (result.facts or {}).get("video"):
        # A video's faces come one per sampled frame: the same person, often in the same place.
        # A region describes a still, so a video gets one: where the person was seen best.
        faces = [max(faces, key=lambda f: f.similarity or 0.0)]
    mwg: list[str] = []
    mp: list[str] = []
    seen: set[tuple[str, ...]] = set()
    for face in faces:
        x1, y1, x2, y2 = stored_box(face.box, w, h, o)
        x1, x2 = max(0.0, x1), min(float(sw), x2)
        y1, y2 = max(0.0, y1), min(float(sh), y2)
        nx, ny, nw, nh = x1 / sw, y1 / sh, (x2 - x1) / sw, (y2 - y1) / sh
        key = tuple(_num(v) for v in (nx, ny, nw, nh))
        if key in seen:  # the same region twice says nothing more
            continue
        seen.add(key)
        mwg.append(
            '      <rdf:li rdf:parseType="Resource">\n'
            f"       <mwg-rs:Name>{name}</mwg-rs:Name>\n"
            "       <mwg-rs:Type>Face</mwg-rs:Type>\n"
            f'       <mwg-rs:Area stArea:x="{_num(nx + nw / 2)}" stArea:y="{_num(ny + nh / 2)}"'
            f' stArea:w="{_num(nw)}" stArea:h="{_num(nh)}" stArea:unit="normalized"/>\n'
            "      </rdf:li>\n"
        )
        mp.append(
            '      <rdf:li rdf:parseType="Resource">\n'
            f"       <MPReg:PersonDisplayName>{name}</MPReg:PersonDisplayName>\n"
            f"       <MPReg:Rectangle>{_num(nx)}, {_num(ny)}, {_num(nw)}, {_num(nh)}"
            "</MPReg:Rectangle>\n"
            "      </rdf:li>\n"
        )
    namespaces = "".join(
        f"\n    xmlns:{prefix}={quoteattr(uri)}"
        for prefix, uri in NS.items()
        if prefix != "x" and prefix != "rdf"
    )
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        f'<x:xmpmeta xmlns:x="{NS["x"]}">\n'
        f' <rdf:RDF xmlns:rdf="{NS["rdf"]}">\n'
        f'  <rdf:Description rdf:about=""{namespaces}>\n'
        '   <mwg-rs:Regions rdf:parseType="Resource">\n'
        f'    <mwg-rs:AppliedToDimensions stDim:w="{sw}" stDim:h="{sh}" stDim:unit="pixel"/>\n'
        "    <mwg-rs:RegionList>\n     <rdf:Bag>\n"
        f"{''.join(mwg)}"
        "     </rdf:Bag>\n    </mwg-rs:RegionList>\n   </mwg-rs:Regions>\n"
        '   <MP:RegionInfo rdf:parseType="Resource">\n'
        "    <MPRI:Regions>\n     <rdf:Bag>\n"
        f"{''.join(mp)}"
        "     </rdf:Bag>\n    </MPRI:Regions>\n   </MP:RegionInfo>\n"
        "  </rdf:Description>\n </rdf:RDF>\n</x:xmpmeta>\n"
        '<?xpacket end="w"?>\n'
    )
