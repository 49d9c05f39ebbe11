/*
 * signals.h - SIGINT, SIGTERM and SIGHUP stop a command at its next safe
 * point instead of wherever they land.
 *
 * Killed in the middle of a mount, a command would leave mounts, loop
 * devices or journalled requests that no state records. With the handlers
 * in place a signal is only noted: the work under way (one container, one
 * save, one clone) runs to its end or is rolled back, the command stops
 * before starting more, saves the state that is true, and the process
 * exits 128 + the signal's number (130 for SIGINT, 143 for SIGTERM).
 * System calls are restarted, so nothing fails half way because of one.
 */
#ifndef LH_SIGNALS_H
#define LH_SIGNALS_H

/* Install the handlers (once, before any command), for each of those
 * signals that was not set to be ignored when the program started. */
void lh_signals_catch(void);

/* The first of those signals caught so far, or 0. Safe anywhere. */
int lh_signal_caught(void);

/* The exit code for a command that returned `code`: 128 + the signal when
 * one was caught (saying so on stderr), else code. */
int lh_signals_exit_code(int code);

#endif
