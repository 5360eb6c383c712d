// Package windows lowers ir.Policy for its platform (see backends).
package windows
