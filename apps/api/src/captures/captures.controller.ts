import {
  Controller,
  Delete,
  Get,
  HttpCode,
  NotFoundException,
  Param,
  ParseUUIDPipe,
  Post,
  Query,
  Req,
  Res,
} from '@nestjs/common';
import { ApiConsumes, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import type { CaptureDetail, CaptureSummary } from '@threadreel/model';
import { CapturesService } from './captures.service.js';

@ApiTags('captures')
@Controller('api/captures')
export class CapturesController {
  constructor(private readonly service: CapturesService) {}

  @Post()
  @ApiConsumes('multipart/form-data')
  @ApiOperation({
    summary: 'Upload a capture',
    description:
      'multipart/form-data: one or more trace files (field "files") and an optional manifest.json, or one .tar.gz bundle. 202 {captureId, duplicates, rejected}.',
  })
  async upload(@Req() req: Request, @Res() res: Response, @Query('name') name?: string): Promise<void> {
    const { status, body } = await this.service.ingest(req, name);
    res.status(status).json(body);
  }

  @Get()
  @ApiOperation({ summary: 'List captures, newest first' })
  list(): Promise<CaptureSummary[]> {
    return this.service.list();
  }

  @Get(':id')
  @ApiOperation({
    summary: 'A capture with its state, per-file parse reports and degraded parts',
    description:
      'state: queued, parsing, correlating, ready (all went through), degraded (usable, with problems: degradedParts lists each with its stage, file, source, thread and reason) or failed (nothing usable).',
  })
  async get(@Param('id', new ParseUUIDPipe()) id: string): Promise<CaptureDetail> {
    const detail = await this.service.detail(id);
    if (!detail) throw new NotFoundException(`capture ${id} not found`);
    return detail;
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a capture and its events' })
  async delete(@Param('id', new ParseUUIDPipe()) id: string): Promise<void> {
    if (!(await this.service.delete(id))) throw new NotFoundException(`capture ${id} not found`);
  }
}
