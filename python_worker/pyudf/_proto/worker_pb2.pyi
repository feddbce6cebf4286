from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class HandshakeRequest(_message.Message):
    __slots__ = ("protocol_version", "host_version")
    PROTOCOL_VERSION_FIELD_NUMBER: _ClassVar[int]
    HOST_VERSION_FIELD_NUMBER: _ClassVar[int]
    protocol_version: int
    host_version: str
    def __init__(self, protocol_version: _Optional[int] = ..., host_version: _Optional[str] = ...) -> None: ...

class HandshakeReply(_message.Message):
    __slots__ = ("protocol_version", "worker_version", "python_version", "python_executable", "pid")
    PROTOCOL_VERSION_FIELD_NUMBER: _ClassVar[int]
    WORKER_VERSION_FIELD_NUMBER: _ClassVar[int]
    PYTHON_VERSION_FIELD_NUMBER: _ClassVar[int]
    PYTHON_EXECUTABLE_FIELD_NUMBER: _ClassVar[int]
    PID_FIELD_NUMBER: _ClassVar[int]
    protocol_version: int
    worker_version: str
    python_version: str
    python_executable: str
    pid: int
    def __init__(self, protocol_version: _Optional[int] = ..., worker_version: _Optional[str] = ..., python_version: _Optional[str] = ..., python_executable: _Optional[str] = ..., pid: _Optional[int] = ...) -> None: ...

class FunctionSpec(_message.Message):
    __slots__ = ("name", "callable", "input_types", "has_input_types", "result_type", "continue_on_error", "category", "result_types", "func_type", "concurrency", "io_threads")
    NAME_FIELD_NUMBER: _ClassVar[int]
    CALLABLE_FIELD_NUMBER: _ClassVar[int]
    INPUT_TYPES_FIELD_NUMBER: _ClassVar[int]
    HAS_INPUT_TYPES_FIELD_NUMBER: _ClassVar[int]
    RESULT_TYPE_FIELD_NUMBER: _ClassVar[int]
    CONTINUE_ON_ERROR_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    RESULT_TYPES_FIELD_NUMBER: _ClassVar[int]
    FUNC_TYPE_FIELD_NUMBER: _ClassVar[int]
    CONCURRENCY_FIELD_NUMBER: _ClassVar[int]
    IO_THREADS_FIELD_NUMBER: _ClassVar[int]
    name: str
    callable: str
    input_types: _containers.RepeatedScalarFieldContainer[str]
    has_input_types: bool
    result_type: str
    continue_on_error: bool
    category: str
    result_types: _containers.RepeatedScalarFieldContainer[str]
    func_type: str
    concurrency: int
    io_threads: int
    def __init__(self, name: _Optional[str] = ..., callable: _Optional[str] = ..., input_types: _Optional[_Iterable[str]] = ..., has_input_types: _Optional[bool] = ..., result_type: _Optional[str] = ..., continue_on_error: _Optional[bool] = ..., category: _Optional[str] = ..., result_types: _Optional[_Iterable[str]] = ..., func_type: _Optional[str] = ..., concurrency: _Optional[int] = ..., io_threads: _Optional[int] = ...) -> None: ...

class LoadFunctionsRequest(_message.Message):
    __slots__ = ("functions", "python_paths", "job_parameters", "library_paths")
    class JobParametersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    FUNCTIONS_FIELD_NUMBER: _ClassVar[int]
    PYTHON_PATHS_FIELD_NUMBER: _ClassVar[int]
    JOB_PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    LIBRARY_PATHS_FIELD_NUMBER: _ClassVar[int]
    functions: _containers.RepeatedCompositeFieldContainer[FunctionSpec]
    python_paths: _containers.RepeatedScalarFieldContainer[str]
    job_parameters: _containers.ScalarMap[str, str]
    library_paths: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, functions: _Optional[_Iterable[_Union[FunctionSpec, _Mapping]]] = ..., python_paths: _Optional[_Iterable[str]] = ..., job_parameters: _Optional[_Mapping[str, str]] = ..., library_paths: _Optional[_Iterable[str]] = ...) -> None: ...

class LoadedFunction(_message.Message):
    __slots__ = ("name", "input_types", "has_input_types", "result_type", "kind", "source_location", "category", "result_types", "has_merge", "concurrency")
    NAME_FIELD_NUMBER: _ClassVar[int]
    INPUT_TYPES_FIELD_NUMBER: _ClassVar[int]
    HAS_INPUT_TYPES_FIELD_NUMBER: _ClassVar[int]
    RESULT_TYPE_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    SOURCE_LOCATION_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    RESULT_TYPES_FIELD_NUMBER: _ClassVar[int]
    HAS_MERGE_FIELD_NUMBER: _ClassVar[int]
    CONCURRENCY_FIELD_NUMBER: _ClassVar[int]
    name: str
    input_types: _containers.RepeatedScalarFieldContainer[str]
    has_input_types: bool
    result_type: str
    kind: str
    source_location: str
    category: str
    result_types: _containers.RepeatedScalarFieldContainer[str]
    has_merge: bool
    concurrency: int
    def __init__(self, name: _Optional[str] = ..., input_types: _Optional[_Iterable[str]] = ..., has_input_types: _Optional[bool] = ..., result_type: _Optional[str] = ..., kind: _Optional[str] = ..., source_location: _Optional[str] = ..., category: _Optional[str] = ..., result_types: _Optional[_Iterable[str]] = ..., has_merge: _Optional[bool] = ..., concurrency: _Optional[int] = ...) -> None: ...

class LoadFunctionsReply(_message.Message):
    __slots__ = ("functions", "error")
    FUNCTIONS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    functions: _containers.RepeatedCompositeFieldContainer[LoadedFunction]
    error: UdfError
    def __init__(self, functions: _Optional[_Iterable[_Union[LoadedFunction, _Mapping]]] = ..., error: _Optional[_Union[UdfError, _Mapping]] = ...) -> None: ...

class UdfError(_message.Message):
    __slots__ = ("function_name", "phase", "exception_type", "message", "traceback", "row_index", "source_location")
    FUNCTION_NAME_FIELD_NUMBER: _ClassVar[int]
    PHASE_FIELD_NUMBER: _ClassVar[int]
    EXCEPTION_TYPE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    TRACEBACK_FIELD_NUMBER: _ClassVar[int]
    ROW_INDEX_FIELD_NUMBER: _ClassVar[int]
    SOURCE_LOCATION_FIELD_NUMBER: _ClassVar[int]
    function_name: str
    phase: str
    exception_type: str
    message: str
    traceback: str
    row_index: int
    source_location: str
    def __init__(self, function_name: _Optional[str] = ..., phase: _Optional[str] = ..., exception_type: _Optional[str] = ..., message: _Optional[str] = ..., traceback: _Optional[str] = ..., row_index: _Optional[int] = ..., source_location: _Optional[str] = ...) -> None: ...

class CallRequest(_message.Message):
    __slots__ = ("call_id", "function_name", "arguments", "num_rows", "argument_columns", "aggregate")
    CALL_ID_FIELD_NUMBER: _ClassVar[int]
    FUNCTION_NAME_FIELD_NUMBER: _ClassVar[int]
    ARGUMENTS_FIELD_NUMBER: _ClassVar[int]
    NUM_ROWS_FIELD_NUMBER: _ClassVar[int]
    ARGUMENT_COLUMNS_FIELD_NUMBER: _ClassVar[int]
    AGGREGATE_FIELD_NUMBER: _ClassVar[int]
    call_id: int
    function_name: str
    arguments: bytes
    num_rows: int
    argument_columns: _containers.RepeatedScalarFieldContainer[int]
    aggregate: AggregateStep
    def __init__(self, call_id: _Optional[int] = ..., function_name: _Optional[str] = ..., arguments: _Optional[bytes] = ..., num_rows: _Optional[int] = ..., argument_columns: _Optional[_Iterable[int]] = ..., aggregate: _Optional[_Union[AggregateStep, _Mapping]] = ...) -> None: ...

class AggregateStep(_message.Message):
    __slots__ = ("use", "step", "groups", "accumulators")
    USE_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    GROUPS_FIELD_NUMBER: _ClassVar[int]
    ACCUMULATORS_FIELD_NUMBER: _ClassVar[int]
    use: int
    step: str
    groups: _containers.RepeatedScalarFieldContainer[int]
    accumulators: bytes
    def __init__(self, use: _Optional[int] = ..., step: _Optional[str] = ..., groups: _Optional[_Iterable[int]] = ..., accumulators: _Optional[bytes] = ...) -> None: ...

class CallReply(_message.Message):
    __slots__ = ("call_id", "result", "error", "row_errors", "accumulators", "stats")
    CALL_ID_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    ROW_ERRORS_FIELD_NUMBER: _ClassVar[int]
    ACCUMULATORS_FIELD_NUMBER: _ClassVar[int]
    STATS_FIELD_NUMBER: _ClassVar[int]
    call_id: int
    result: bytes
    error: UdfError
    row_errors: _containers.RepeatedCompositeFieldContainer[UdfError]
    accumulators: bytes
    stats: CallStats
    def __init__(self, call_id: _Optional[int] = ..., result: _Optional[bytes] = ..., error: _Optional[_Union[UdfError, _Mapping]] = ..., row_errors: _Optional[_Iterable[_Union[UdfError, _Mapping]]] = ..., accumulators: _Optional[bytes] = ..., stats: _Optional[_Union[CallStats, _Mapping]] = ...) -> None: ...

class CallStats(_message.Message):
    __slots__ = ("rows_in", "rows_out", "rows_failed", "function_nanos")
    ROWS_IN_FIELD_NUMBER: _ClassVar[int]
    ROWS_OUT_FIELD_NUMBER: _ClassVar[int]
    ROWS_FAILED_FIELD_NUMBER: _ClassVar[int]
    FUNCTION_NANOS_FIELD_NUMBER: _ClassVar[int]
    rows_in: int
    rows_out: int
    rows_failed: int
    function_nanos: int
    def __init__(self, rows_in: _Optional[int] = ..., rows_out: _Optional[int] = ..., rows_failed: _Optional[int] = ..., function_nanos: _Optional[int] = ...) -> None: ...

class StreamLogsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class LogRecord(_message.Message):
    __slots__ = ("level", "function_name", "logger", "message", "time_unix")
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    FUNCTION_NAME_FIELD_NUMBER: _ClassVar[int]
    LOGGER_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    TIME_UNIX_FIELD_NUMBER: _ClassVar[int]
    level: str
    function_name: str
    logger: str
    message: str
    time_unix: float
    def __init__(self, level: _Optional[str] = ..., function_name: _Optional[str] = ..., logger: _Optional[str] = ..., message: _Optional[str] = ..., time_unix: _Optional[float] = ...) -> None: ...

class CloseFunctionsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class CloseFunctionsReply(_message.Message):
    __slots__ = ("errors", "metrics")
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    errors: _containers.RepeatedCompositeFieldContainer[UdfError]
    metrics: _containers.RepeatedCompositeFieldContainer[FunctionMetrics]
    def __init__(self, errors: _Optional[_Iterable[_Union[UdfError, _Mapping]]] = ..., metrics: _Optional[_Iterable[_Union[FunctionMetrics, _Mapping]]] = ...) -> None: ...

class FunctionMetrics(_message.Message):
    __slots__ = ("function_name", "readings")
    FUNCTION_NAME_FIELD_NUMBER: _ClassVar[int]
    READINGS_FIELD_NUMBER: _ClassVar[int]
    function_name: str
    readings: _containers.RepeatedCompositeFieldContainer[MetricReading]
    def __init__(self, function_name: _Optional[str] = ..., readings: _Optional[_Iterable[_Union[MetricReading, _Mapping]]] = ...) -> None: ...

class MetricReading(_message.Message):
    __slots__ = ("identifier", "kind", "count", "rate", "sum", "min", "max", "number", "text", "is_text")
    IDENTIFIER_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    RATE_FIELD_NUMBER: _ClassVar[int]
    SUM_FIELD_NUMBER: _ClassVar[int]
    MIN_FIELD_NUMBER: _ClassVar[int]
    MAX_FIELD_NUMBER: _ClassVar[int]
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    IS_TEXT_FIELD_NUMBER: _ClassVar[int]
    identifier: str
    kind: str
    count: int
    rate: float
    sum: float
    min: float
    max: float
    number: float
    text: str
    is_text: bool
    def __init__(self, identifier: _Optional[str] = ..., kind: _Optional[str] = ..., count: _Optional[int] = ..., rate: _Optional[float] = ..., sum: _Optional[float] = ..., min: _Optional[float] = ..., max: _Optional[float] = ..., number: _Optional[float] = ..., text: _Optional[str] = ..., is_text: _Optional[bool] = ...) -> None: ...

class ShutdownRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ShutdownReply(_message.Message):
    __slots__ = ("errors", "metrics")
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    errors: _containers.RepeatedCompositeFieldContainer[UdfError]
    metrics: _containers.RepeatedCompositeFieldContainer[FunctionMetrics]
    def __init__(self, errors: _Optional[_Iterable[_Union[UdfError, _Mapping]]] = ..., metrics: _Optional[_Iterable[_Union[FunctionMetrics, _Mapping]]] = ...) -> None: ...
