/*
 * error.h - the text of a status code: the LH_E* domain codes by their
 * meaning, everything else as the system's errno text.
 */
#ifndef LH_ERROR_TEXT_H
#define LH_ERROR_TEXT_H

/* `code` negative or positive (-LH_ETOOLARGE and LH_ETOOLARGE alike); a
 * static string, never NULL. */
const char *lh_strerror(int code);

#endif
