// Package cli holds the conventions every gdn tool follows on the command
// line (design brief §2), so that the six binaries behave alike:
//
//   - output: one JSON object per result when stdout is not a terminal or
//     --output json is given, a human summary when it is a terminal;
//   - input: a command that continues a pipeline decodes the previous tool's
//     JSON from stdin, and flags override it;
//   - errors: one line on stderr, {"error":{"type":..,"message":..}} when
//     stderr is not a terminal, and an exit status chosen by the error's
//     errkind (ExitCode is the only place that choice is made);
//   - handles and process ids are validated before any work (HandleArgs),
//     and complete in the shell from what the tool holds (Complete);
//   - every tool has --version (pkg/version), cobra's completion command
//     and a hidden gen-man DIR that writes its man pages (Execute adds
//     them); -o text has a text form for every result (WriteText).
//
// cmd/<tool> packages stay thin by using these helpers; nothing here knows
// about containers.
package cli
