// Package bwrap lowers ir.Policy for its platform (see backends).
package bwrap
