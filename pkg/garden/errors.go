package garden

import (
	"errors"
)

// Error is the JSON body of every failed API call and the Err of a bulk
// entry (§4). It has no tags, and all five keys are always present;
// Binary is never filled. Convert with ErrorBody and FromBody.
type Error struct {
	Type      string
	Message   string
	Handle    string
	ProcessID string
	Binary    string
}

// The Type values of Error. A plain error has Type "".
const (
	TypeContainerNotFound  = "ContainerNotFoundError"
	TypeProcessNotFound    = "ProcessNotFoundError"
	TypeExecutableNotFound = "ExecutableNotFoundError"
	TypeServiceUnavailable = "ServiceUnavailableError"
	TypeUnrecoverable      = "UnrecoverableError"
)

// ContainerNotFoundError means no container has Handle. Sent as 404.
type ContainerNotFoundError struct{ Handle string }

func (e ContainerNotFoundError) Error() string { return "unknown handle: " + e.Handle }

// ProcessNotFoundError means the container has no process ProcessID. Sent as 404.
type ProcessNotFoundError struct{ ProcessID string }

func (e ProcessNotFoundError) Error() string { return "unknown process: " + e.ProcessID }

// ExecutableNotFoundError means a process's executable does not exist. Sent as
// 500; Message travels as is.
type ExecutableNotFoundError struct{ Message string }

func (e ExecutableNotFoundError) Error() string { return e.Message }

// ServiceUnavailableError means the server cannot serve right now. Sent as 500
// (not 503). Only the cause's text survives the wire.
type ServiceUnavailableError struct{ Cause error }

func (e ServiceUnavailableError) Error() string {
	if e.Cause == nil {
		return "service unavailable"
	}
	return e.Cause.Error()
}

func (e ServiceUnavailableError) Unwrap() error { return e.Cause }

// UnrecoverableError means the server is permanently broken (what Ping reports
// when it cannot recover). Sent as 500.
type UnrecoverableError struct{ Symptom string }

func (e UnrecoverableError) Error() string { return e.Symptom }

// net/http's StatusNotFound and StatusInternalServerError. This package
// does not import net/http: gdn-run and gdn-net use its types, and
// net/http's package initialisation (TLS, x509 and the rest) cost every
// start of them about 0.5 ms of CPU (perf stat, a program that only
// imports it).
const (
	statusNotFound            = 404
	statusInternalServerError = 500
)

// ErrorBody returns the status and body for a handler error, the way the
// reference server writes them. The typed errors above are found anywhere
// in err's chain (as values or pointers), and their own text becomes the
// Message, so wrapping one does not change what the client sees; 404 is
// only for the two not-found types, 500 for everything else. Any other
// error is Type "" with err.Error() as the Message.
func ErrorBody(err error) (status int, body Error) {
	if e, ok := as[ContainerNotFoundError](err); ok {
		return statusNotFound, Error{Type: TypeContainerNotFound, Message: e.Error(), Handle: e.Handle}
	}
	if e, ok := as[ProcessNotFoundError](err); ok {
		return statusNotFound, Error{Type: TypeProcessNotFound, Message: e.Error(), ProcessID: e.ProcessID}
	}
	if e, ok := as[ExecutableNotFoundError](err); ok {
		return statusInternalServerError, Error{Type: TypeExecutableNotFound, Message: e.Error()}
	}
	if e, ok := as[ServiceUnavailableError](err); ok {
		return statusInternalServerError, Error{Type: TypeServiceUnavailable, Message: e.Error()}
	}
	if e, ok := as[UnrecoverableError](err); ok {
		return statusInternalServerError, Error{Type: TypeUnrecoverable, Message: e.Error()}
	}
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	return statusInternalServerError, Error{Message: msg}
}

// as finds a T or a non-nil *T in err's chain (as errors.As walks it), so
// that callers may return the typed errors either way.
func as[T error](err error) (T, bool) {
	switch e := any(err).(type) {
	case nil:
	case T:
		return e, true
	case *T:
		if e != nil {
			return *e, true
		}
	case interface{ Unwrap() error }:
		return as[T](e.Unwrap())
	case interface{ Unwrap() []error }:
		for _, inner := range e.Unwrap() {
			if v, ok := as[T](inner); ok {
				return v, true
			}
		}
	}
	var zero T
	return zero, false
}

// FromBody turns an error body back into an error, as the client does: a
// known Type becomes its typed error (value, not pointer; the not-found
// types are rebuilt from Handle and ProcessID, not from Message), anything
// else a plain error with Message as its text.
func FromBody(b Error) error {
	switch b.Type {
	case TypeContainerNotFound:
		return ContainerNotFoundError{Handle: b.Handle}
	case TypeProcessNotFound:
		return ProcessNotFoundError{ProcessID: b.ProcessID}
	case TypeExecutableNotFound:
		return ExecutableNotFoundError{Message: b.Message}
	case TypeServiceUnavailable:
		return ServiceUnavailableError{Cause: errors.New(b.Message)}
	case TypeUnrecoverable:
		return UnrecoverableError{Symptom: b.Message}
	}
	return errors.New(b.Message)
}
