"""The registered champion as MLflow serves it: a video in, the top-k classes and their probabilities out.

A model "from code" (as src/learning/mlflow_model.py): MLflow runs this file to build the model, and the model
reads the checkpoint logged beside it (safetensors), so nothing is pickled. It answers with
`src.predict.Predictor`, the code `python -m src.predict` runs (trim, frame store, the pose front-end for pose
models, the checkpoint's recorded settings), so the server and the command line give the same answer for the
same file. src/reporting/champion.py logs it for the comparison's winner and registers it as
`video-action-recognition@champion`.

One request per video: `{"inputs": [{"video": "<the file's bytes, base64>", "top_k": 3}]}`, or `"path"` instead
of `"video"` for a file the server can read; `start` and `end` (seconds) cut a segment. The input is typed
(MLflow reads the signature from the type hints of `predict`); a field outside VideoRequest, a body that is not
a video, or a frame larger than src.predict.MAX_PIXELS is answered with status 400 and one line saying why.
"""
from __future__ import annotations

import base64
import binascii
import tempfile
from pathlib import Path
from typing import Optional

import mlflow
import pydantic
from mlflow.exceptions import MlflowException
from mlflow.pyfunc import PythonModel


class VideoRequest(pydantic.BaseModel):
    """One video to classify. Unknown fields are kept here (extra="allow") so that `predict` can name them in
    its one-line error, where pydantic's own error would list the whole schema."""
    model_config = pydantic.ConfigDict(extra="allow")
    video: Optional[str] = None   # the file's bytes, base64 (any container ffmpeg reads)
    path: Optional[str] = None    # or a file the server can read
    top_k: Optional[int] = None   # default 5, as src.predict
    start: Optional[float] = None
    end: Optional[float] = None


def bad_request(message: str) -> MlflowException:
    """The exception MLflow's scoring server answers with status 400 and this message."""
    return MlflowException.invalid_parameter_value(message)


class VideoModel(PythonModel):
    def load_context(self, context):
        from src.predict import Predictor
        self.predictor = Predictor(context.artifacts["checkpoint"])

    def predict(self, context, model_input: list[VideoRequest], params=None) -> list[dict]:
        return [self.answer(request) for request in model_input]

    def answer(self, r: VideoRequest) -> dict:
        """src.predict's answer (Prediction.as_dict) for one request; bad input raises bad_request."""
        from src.predict import expected_errors
        if r.model_extra:
            raise bad_request(f"unknown field(s) {', '.join(sorted(r.model_extra))}; allowed: {', '.join(VideoRequest.model_fields)}")
        if (r.video is None) == (r.path is None):
            raise bad_request("give one of video (the file's bytes, base64) or path (a file the server can read)")
        top_k = 5 if r.top_k is None else r.top_k
        if top_k < 1:
            raise bad_request(f"top_k must be >= 1 (got {top_k})")
        with tempfile.TemporaryDirectory(prefix="serve-") as tmp:
            if r.video is not None:
                try:
                    data = base64.b64decode(r.video, validate=True)
                except (binascii.Error, ValueError) as exc:
                    raise bad_request(f"video: not base64 ({exc})") from None
                if not data:
                    raise bad_request("video: empty")
                # the suffix only passes predict's check: ffmpeg tells the container from the bytes
                path = Path(tmp) / "upload.mp4"
                path.write_bytes(data)
            else:
                path = Path(r.path)
            try:
                pred = self.predictor.predict(path, r.start, r.end, top_k=top_k)
            except expected_errors() as exc:
                if r.video is None:
                    raise bad_request(str(exc)) from None
                raise bad_request("video: " + str(exc).replace(f"{path}: ", "").replace(str(path), "the upload")) \
                    from None
        out = pred.as_dict()
        out["video"] = "(uploaded bytes)" if r.video is not None else r.path
        return out


mlflow.models.set_model(VideoModel())
