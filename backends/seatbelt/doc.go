// Package seatbelt lowers ir.Policy for its platform (see backends).
package seatbelt
